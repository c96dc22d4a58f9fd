/**
 * The blocks of EfficientNet as timm builds them (nn/models/efficientnet.ts assembles them), with
 * timm's member names so its state dicts load as they are: squeeze-excitation (`conv_reduce`,
 * `conv_expand`), the expansion-free depthwise-separable block of stage 0 (`conv_dw`, `bn1`, `se`,
 * `conv_pw`, `bn2`) and the inverted residual "MBConv" of the later stages (`conv_pw`, `bn1`,
 * `conv_dw`, `bn2`, `se`, `conv_pwl`, `bn3`). Activations are SiLU; the residual branch may be
 * dropped per sample in training (stochastic depth, off unless a rate is given).
 */

import type { Backend } from "../../gpu/backend.ts";
import { assignInPlace, constant, type InitOptions, normal } from "../init.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Conv2d } from "../layers/conv.ts";
import { Layer } from "../module.ts";
import { add, mul, sigmoid, silu } from "../ops/elementwise.ts";
import { dropout } from "../ops/random.ts";
import { mean } from "../ops/reduce.ts";
import { ones, type Tensor } from "../tensor.ts";

/**
 * timm's make_divisible: `v` rounded to a multiple of `divisor` (at least `divisor`), rounded up
 * once more when rounding lost over 10 %.
 */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** timm's EfficientNet init for convolutions: normal(0, sqrt(2 / fan_out)), fan_out per group. */
export function effnetConvInit(groups: number) {
  return (shape: readonly number[], o: InitOptions): Tensor => {
    const fanOut = (shape[0] * shape[2] * shape[3]) / groups;
    return normal(shape, 0, Math.sqrt(2 / fanOut), o);
  };
}

/** A bias-free (unless `bias`) convolution with timm's padding ((k - 1) / 2 when stride 1 or 2). */
export function effnetConv(
  cin: number,
  cout: number,
  k: number,
  o: { stride?: number; groups?: number; bias?: boolean; backend: Backend },
): Conv2d {
  const groups = o.groups ?? 1;
  const conv = new Conv2d(cin, cout, k, {
    stride: o.stride ?? 1,
    padding: Math.floor(((o.stride ?? 1) - 1 + (k - 1)) / 2),
    groups,
    bias: o.bias ?? false,
    backend: o.backend,
    weightInit: effnetConvInit(groups),
  });
  if (conv.bias) assignInPlace(conv.bias, constant(conv.bias.shape, 0, { backend: o.backend }));
  return conv;
}

/** Squeeze-excitation: x * sigmoid(expand(silu(reduce(mean over H, W of x)))). */
export class SqueezeExcite extends Layer {
  readonly conv_reduce: Conv2d;
  readonly conv_expand: Conv2d;

  constructor(channels: number, reduced: number, backend: Backend) {
    super(backend);
    const b = { bias: true, backend };
    this.conv_reduce = this.addModule("conv_reduce", effnetConv(channels, reduced, 1, b));
    this.conv_expand = this.addModule("conv_expand", effnetConv(reduced, channels, 1, b));
  }

  forward(x: Tensor): Tensor {
    const squeezed = mean(x, [2, 3], true);
    const gate = sigmoid(this.conv_expand.forward(silu(this.conv_reduce.forward(squeezed))));
    return mul(x, gate);
  }
}

/**
 * Stochastic depth (timm's drop_path): in training, each sample's branch is zeroed with
 * probability `rate` and the survivors scaled by 1 / (1 - rate); identity otherwise.
 */
export function dropPath(x: Tensor, rate: number, training: boolean): Tensor {
  if (!training || rate === 0) return x;
  const keep = ones([x.shape[0], ...x.shape.slice(1).map(() => 1)], { backend: x.backend });
  return mul(x, dropout(keep, rate, true));
}

/** What both block kinds take. */
export interface MbBlockOptions {
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  /** Expansion ratio of the inverted residual (1 for the depthwise-separable block). */
  expand: number;
  /** Channels of the squeeze-excitation bottleneck. */
  seChannels: number;
  /** Stochastic-depth rate of this block's residual branch. */
  dropPath: number;
  backend: Backend;
}

function checkRate(rate: number): void {
  if (!(rate >= 0 && rate < 1)) throw new Error(`drop path rate ${rate} is not in [0, 1)`);
}

/** What both block kinds share: the residual connection, when the shapes allow, and its drop path. */
abstract class MbBlock extends Layer {
  readonly hasSkip: boolean;
  readonly dropPathRate: number;

  constructor(o: MbBlockOptions) {
    super(o.backend);
    checkRate(o.dropPath);
    this.hasSkip = o.stride === 1 && o.cin === o.cout;
    this.dropPathRate = o.dropPath;
  }

  /** The block's output from its branch `h` and its input `x`. */
  protected residual(h: Tensor, x: Tensor): Tensor {
    return this.hasSkip ? add(dropPath(h, this.dropPathRate, this.training), x) : h;
  }
}

/** Depthwise conv, SE, pointwise projection; residual when shapes allow (timm's DS block). */
export class DepthwiseSeparableConv extends MbBlock {
  readonly conv_dw: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly se: SqueezeExcite;
  readonly conv_pw: Conv2d;
  readonly bn2: BatchNorm2d;

  constructor(o: MbBlockOptions) {
    super(o);
    const b = o.backend;
    this.conv_dw = this.addModule(
      "conv_dw",
      effnetConv(o.cin, o.cin, o.kernel, { stride: o.stride, groups: o.cin, backend: b }),
    );
    this.bn1 = this.addModule("bn1", new BatchNorm2d(o.cin, { backend: b }));
    this.se = this.addModule("se", new SqueezeExcite(o.cin, o.seChannels, b));
    this.conv_pw = this.addModule("conv_pw", effnetConv(o.cin, o.cout, 1, { backend: b }));
    this.bn2 = this.addModule("bn2", new BatchNorm2d(o.cout, { backend: b }));
  }

  forward(x: Tensor): Tensor {
    let h = this.bn1.forwardSiLU(this.conv_dw.forward(x));
    h = this.bn2.forward(this.conv_pw.forward(this.se.forward(h)));
    return this.residual(h, x);
  }
}

/** MBConv: 1x1 expansion, depthwise conv, SE, 1x1 linear projection, residual when it fits. */
export class InvertedResidual extends MbBlock {
  readonly conv_pw: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv_dw: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly se: SqueezeExcite;
  readonly conv_pwl: Conv2d;
  readonly bn3: BatchNorm2d;

  constructor(o: MbBlockOptions) {
    super(o);
    const b = o.backend;
    const mid = makeDivisible(o.cin * o.expand);
    this.conv_pw = this.addModule("conv_pw", effnetConv(o.cin, mid, 1, { backend: b }));
    this.bn1 = this.addModule("bn1", new BatchNorm2d(mid, { backend: b }));
    this.conv_dw = this.addModule(
      "conv_dw",
      effnetConv(mid, mid, o.kernel, { stride: o.stride, groups: mid, backend: b }),
    );
    this.bn2 = this.addModule("bn2", new BatchNorm2d(mid, { backend: b }));
    this.se = this.addModule("se", new SqueezeExcite(mid, o.seChannels, b));
    this.conv_pwl = this.addModule("conv_pwl", effnetConv(mid, o.cout, 1, { backend: b }));
    this.bn3 = this.addModule("bn3", new BatchNorm2d(o.cout, { backend: b }));
  }

  forward(x: Tensor): Tensor {
    let h = this.bn1.forwardSiLU(this.conv_pw.forward(x));
    h = this.bn2.forwardSiLU(this.conv_dw.forward(h));
    h = this.bn3.forward(this.conv_pwl.forward(this.se.forward(h)));
    return this.residual(h, x);
  }
}
