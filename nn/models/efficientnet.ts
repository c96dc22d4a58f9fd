/**
 * EfficientNet-B0 … B7 as timm (and geffnet before it, whose names timm kept) builds them, so
 * timm's ImageNet safetensors load with a strict state dict: `conv_stem`, `bn1`,
 * `blocks.<stage>.<index>.*` (blocks in nn/models/efficientnet-blocks.ts), `conv_head`, `bn2`,
 * `classifier`. Widths and depths scale B0's stages by timm's rules (channels rounded to
 * multiples of 8, repeats rounded up), the stem and head too; the study's trunk is
 * efficientnet_b3 (12,233,232 parameters with its classifier, 1536 features).
 *
 * As in geffnet there is no stochastic depth unless `dropPath` is given (timm's drop_path_rate:
 * block i of n drops its branch with probability dropPath * i / n), and no dropout before the
 * classifier: the debiasing heads bring their own.
 */

import type { Backend } from "../../gpu/backend.ts";
import { assignInPlace, constant, uniform } from "../init.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Sequential } from "../layers/container.ts";
import type { Conv2d } from "../layers/conv.ts";
import { Linear } from "../layers/linear.ts";
import { Layer } from "../module.ts";
import { globalAvgPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";
import {
  DepthwiseSeparableConv,
  effnetConv,
  InvertedResidual,
  makeDivisible,
  type MbBlockOptions,
} from "./efficientnet-blocks.ts";

/** One stage of B0: block kind, repeats, depthwise kernel, first stride, expansion, channels. */
interface StageDef {
  kind: "ds" | "ir";
  repeats: number;
  kernel: number;
  stride: number;
  expand: number;
  channels: number;
}

/** timm's `_gen_efficientnet` arch_def (every stage with squeeze-excitation ratio 0.25). */
const B0_STAGES: readonly StageDef[] = [
  { kind: "ds", repeats: 1, kernel: 3, stride: 1, expand: 1, channels: 16 },
  { kind: "ir", repeats: 2, kernel: 3, stride: 2, expand: 6, channels: 24 },
  { kind: "ir", repeats: 2, kernel: 5, stride: 2, expand: 6, channels: 40 },
  { kind: "ir", repeats: 3, kernel: 3, stride: 2, expand: 6, channels: 80 },
  { kind: "ir", repeats: 3, kernel: 5, stride: 1, expand: 6, channels: 112 },
  { kind: "ir", repeats: 4, kernel: 5, stride: 2, expand: 6, channels: 192 },
  { kind: "ir", repeats: 1, kernel: 3, stride: 1, expand: 6, channels: 320 },
];

const SE_RATIO = 0.25;

/** Width and depth multipliers of each variant (timm's efficientnet_b0 … b7). */
export const EFFICIENTNET_SCALING: Readonly<Record<string, { width: number; depth: number }>> = {
  efficientnet_b0: { width: 1.0, depth: 1.0 },
  efficientnet_b1: { width: 1.0, depth: 1.1 },
  efficientnet_b2: { width: 1.1, depth: 1.2 },
  efficientnet_b3: { width: 1.2, depth: 1.4 },
  efficientnet_b4: { width: 1.4, depth: 1.8 },
  efficientnet_b5: { width: 1.6, depth: 2.2 },
  efficientnet_b6: { width: 1.8, depth: 2.6 },
  efficientnet_b7: { width: 2.0, depth: 3.1 },
};

export interface EfficientNetOptions {
  /** Channel multiplier (B0: 1). */
  width: number;
  /** Repeat multiplier (B0: 1). */
  depth: number;
  /** Classifier outputs; 0 leaves out `classifier`, so `forward` returns the pooled features. */
  numClasses?: number;
  /** Stochastic-depth rate of the last block (timm's drop_path_rate); 0 by default. */
  dropPath?: number;
  inChannels?: number;
  backend?: Backend;
}

/** One block of the built network, as plain data (what the layout tests count). */
export interface BlockPlan extends Omit<MbBlockOptions, "dropPath" | "backend"> {
  stage: number;
  kind: "ds" | "ir";
}

/** The blocks a width / depth multiplier gives, in order, with the stem and head widths. */
export function efficientnetPlan(width: number, depth: number) {
  const stem = makeDivisible(32 * width);
  const blocks: BlockPlan[] = [];
  let cin = stem;
  B0_STAGES.forEach((s, stage) => {
    const cout = makeDivisible(s.channels * width);
    const repeats = Math.ceil(s.repeats * depth);
    for (let i = 0; i < repeats; i++) {
      const seChannels = Math.round(makeDivisible(cin * s.expand) * (SE_RATIO / s.expand));
      const stride = i === 0 ? s.stride : 1;
      blocks.push({
        stage,
        kind: s.kind,
        cin,
        cout,
        kernel: s.kernel,
        stride,
        expand: s.expand,
        seChannels,
      });
      cin = cout;
    }
  });
  return { stem, blocks, head: makeDivisible(1280 * width) };
}

export class EfficientNet extends Layer {
  readonly conv_stem: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly blocks: Sequential;
  readonly conv_head: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly classifier: Linear | null;
  readonly numFeatures: number;

  constructor(o: EfficientNetOptions) {
    super(o.backend);
    const b = this.backend;
    const rate = o.dropPath ?? 0;
    if (!(rate >= 0 && rate < 1)) {
      throw new Error(`EfficientNet: dropPath ${rate} is not in [0, 1)`);
    }
    const plan = efficientnetPlan(o.width, o.depth);
    this.conv_stem = this.addModule(
      "conv_stem",
      effnetConv(o.inChannels ?? 3, plan.stem, 3, { stride: 2, backend: b }),
    );
    this.bn1 = this.addModule("bn1", new BatchNorm2d(plan.stem, { backend: b }));
    const stages = B0_STAGES.map(() => new Sequential());
    plan.blocks.forEach((p, i) => {
      const options = { ...p, dropPath: (rate * i) / plan.blocks.length, backend: b };
      stages[p.stage].append(
        p.kind === "ds" ? new DepthwiseSeparableConv(options) : new InvertedResidual(options),
      );
    });
    this.blocks = this.addModule("blocks", new Sequential(...stages));
    const last = plan.blocks[plan.blocks.length - 1].cout;
    this.conv_head = this.addModule("conv_head", effnetConv(last, plan.head, 1, { backend: b }));
    this.bn2 = this.addModule("bn2", new BatchNorm2d(plan.head, { backend: b }));
    this.numFeatures = plan.head;
    const classes = o.numClasses ?? 1000;
    this.classifier = classes > 0
      ? this.addModule("classifier", this.#classifier(plan.head, classes, b))
      : null;
  }

  /** timm's init: weight uniform(+-1/sqrt(outputs)), bias 0. */
  #classifier(features: number, classes: number, backend: Backend): Linear {
    const fc = new Linear(features, classes, { backend });
    const bound = 1 / Math.sqrt(classes);
    assignInPlace(fc.weight, uniform(fc.weight.shape, -bound, bound, { backend }));
    assignInPlace(fc.bias!, constant([classes], 0, { backend }));
    return fc;
  }

  /** Stem, blocks, head conv and global average pooling: [N, 3, H, W] to [N, numFeatures]. */
  features(x: Tensor): Tensor {
    const h = this.blocks.forward(this.bn1.forwardSiLU(this.conv_stem.forward(x)));
    return globalAvgPool2d(this.bn2.forwardSiLU(this.conv_head.forward(h)));
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x);
    return this.classifier ? this.classifier.forward(f) : f;
  }
}

/** What a variant's builder takes. */
export type EfficientNetPreset = Omit<EfficientNetOptions, "width" | "depth">;

/** Builds timm's `name` (efficientnet_b0 … efficientnet_b7). */
export function efficientnet(name: string, o: EfficientNetPreset = {}): EfficientNet {
  const scaling = EFFICIENTNET_SCALING[name];
  if (!scaling) {
    throw new Error(
      `unknown EfficientNet ${name}; known: ${Object.keys(EFFICIENTNET_SCALING).join(", ")}`,
    );
  }
  return new EfficientNet({ ...o, ...scaling });
}
