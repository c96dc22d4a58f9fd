/**
 * ResNet and ResNeXt as torchvision builds them, down to parameter names (`layer1.0.conv1.weight`,
 * `layer2.0.downsample.1.running_var`, `fc.bias`) and initialisation (conv weights
 * kaiming_normal fan_out/relu, batch norm 1/0), so torchvision or timm weights exported to
 * safetensors load with a strict state dict. `smallInput` swaps the 7x7/2 stem and its max-pool
 * for a 3x3/1 conv, the usual choice for 32-64 px images (the W3 benchmark: ResNet-18, 64x64).
 */

import type { Backend } from "../../gpu/backend.ts";
import { assignInPlace, constant, kaimingNormal } from "../init.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Sequential } from "../layers/container.ts";
import { Conv2d } from "../layers/conv.ts";
import { Linear } from "../layers/linear.ts";
import { Layer } from "../module.ts";
import { globalAvgPool2d, maxPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";

/** What both block kinds are built from (torchvision's positional block arguments). */
export interface BlockOptions {
  stride?: number;
  downsample?: Sequential | null;
  groups?: number;
  baseWidth?: number;
  backend?: Backend;
}

const convInit = (shape: readonly number[], o: { backend?: Backend; seed?: number }) =>
  kaimingNormal(shape, { ...o, mode: "fan_out", nonlinearity: "relu" });

function conv3x3(cin: number, cout: number, stride: number, groups: number, backend: Backend) {
  return new Conv2d(cin, cout, 3, {
    stride,
    padding: 1,
    groups,
    bias: false,
    backend,
    weightInit: convInit,
  });
}

function conv1x1(cin: number, cout: number, stride: number, backend: Backend) {
  return new Conv2d(cin, cout, 1, { stride, bias: false, backend, weightInit: convInit });
}

/** Two 3x3 convolutions with a shortcut (ResNet-18/34). */
export class BasicBlock extends Layer {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inplanes: number, planes: number, o: BlockOptions = {}) {
    super(o.backend);
    if ((o.groups ?? 1) !== 1 || (o.baseWidth ?? 64) !== 64) {
      throw new Error("BasicBlock only supports groups=1 and base width 64 (as torchvision)");
    }
    const b = this.backend;
    this.conv1 = this.addModule("conv1", conv3x3(inplanes, planes, o.stride ?? 1, 1, b));
    this.bn1 = this.addModule("bn1", new BatchNorm2d(planes, { backend: b }));
    this.conv2 = this.addModule("conv2", conv3x3(planes, planes, 1, 1, b));
    this.bn2 = this.addModule("bn2", new BatchNorm2d(planes, { backend: b }));
    this.downsample = o.downsample ? this.addModule("downsample", o.downsample) : null;
  }

  /** The batch norm whose weight zero_init_residual zeroes. */
  get lastNorm(): BatchNorm2d {
    return this.bn2;
  }

  forward(x: Tensor): Tensor {
    const out = this.conv2.forward(this.bn1.forwardReLU(this.conv1.forward(x)));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.bn2.forwardReLU(out, identity);
  }
}

/** 1x1 reduce, grouped 3x3, 1x1 expand by 4 (ResNet-50+, ResNeXt with groups > 1). */
export class Bottleneck extends Layer {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inplanes: number, planes: number, o: BlockOptions = {}) {
    super(o.backend);
    const groups = o.groups ?? 1;
    const width = Math.floor(planes * ((o.baseWidth ?? 64) / 64)) * groups;
    const b = this.backend;
    this.conv1 = this.addModule("conv1", conv1x1(inplanes, width, 1, b));
    this.bn1 = this.addModule("bn1", new BatchNorm2d(width, { backend: b }));
    this.conv2 = this.addModule("conv2", conv3x3(width, width, o.stride ?? 1, groups, b));
    this.bn2 = this.addModule("bn2", new BatchNorm2d(width, { backend: b }));
    this.conv3 = this.addModule("conv3", conv1x1(width, planes * 4, 1, b));
    this.bn3 = this.addModule("bn3", new BatchNorm2d(planes * 4, { backend: b }));
    this.downsample = o.downsample ? this.addModule("downsample", o.downsample) : null;
  }

  get lastNorm(): BatchNorm2d {
    return this.bn3;
  }

  forward(x: Tensor): Tensor {
    let out = this.bn1.forwardReLU(this.conv1.forward(x));
    out = this.bn2.forwardReLU(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return this.bn3.forwardReLU(this.conv3.forward(out), identity);
  }
}

type BlockClass = (typeof BasicBlock | typeof Bottleneck) & { expansion: number };

export interface ResNetOptions {
  block: "basic" | "bottleneck";
  /** Blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18. */
  layers: [number, number, number, number];
  /** Classifier outputs; 0 leaves out `fc`, so `forward` returns the pooled features. */
  numClasses?: number;
  groups?: number;
  widthPerGroup?: number;
  /** Zero the last batch-norm weight of each block, so blocks start as identities. */
  zeroInitResidual?: boolean;
  /** 3x3 stride-1 stem without max-pool, for small images. */
  smallInput?: boolean;
  inChannels?: number;
  backend?: Backend;
}

export class ResNet extends Layer {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: Sequential[];
  readonly fc: Linear | null;
  readonly numFeatures: number;
  readonly smallInput: boolean;

  constructor(o: ResNetOptions) {
    super(o.backend);
    const b = this.backend;
    const block: BlockClass = o.block === "basic" ? BasicBlock : Bottleneck;
    const groups = o.groups ?? 1;
    const baseWidth = o.widthPerGroup ?? 64;
    this.smallInput = o.smallInput ?? false;
    const inChannels = o.inChannels ?? 3;
    this.conv1 = this.addModule(
      "conv1",
      this.smallInput
        ? new Conv2d(inChannels, 64, 3, {
          padding: 1,
          bias: false,
          backend: b,
          weightInit: convInit,
        })
        : new Conv2d(inChannels, 64, 7, {
          stride: 2,
          padding: 3,
          bias: false,
          backend: b,
          weightInit: convInit,
        }),
    );
    this.bn1 = this.addModule("bn1", new BatchNorm2d(64, { backend: b }));
    let inplanes = 64;
    this.stages = [64, 128, 256, 512].map((planes, i) => {
      const stride = i === 0 ? 1 : 2;
      const out = planes * block.expansion;
      const downsample = stride !== 1 || inplanes !== out
        ? new Sequential(conv1x1(inplanes, out, stride, b), new BatchNorm2d(out, { backend: b }))
        : null;
      const stage = new Sequential(
        new block(inplanes, planes, { stride, downsample, groups, baseWidth, backend: b }),
      );
      inplanes = out;
      for (let k = 1; k < o.layers[i]; k++) {
        stage.append(new block(inplanes, planes, { groups, baseWidth, backend: b }));
      }
      return this.addModule(`layer${i + 1}`, stage);
    });
    this.numFeatures = 512 * block.expansion;
    const classes = o.numClasses ?? 1000;
    this.fc = classes > 0
      ? this.addModule("fc", new Linear(this.numFeatures, classes, { backend: b }))
      : null;
    if (o.zeroInitResidual) {
      for (const stage of this.stages) {
        for (const blk of stage.layers as (BasicBlock | Bottleneck)[]) {
          const w = blk.lastNorm.weight;
          assignInPlace(w, constant(w.shape, 0, { backend: b }));
        }
      }
    }
  }

  /** Stem, four stages and global average pooling: [N, C, H, W] to [N, numFeatures]. */
  features(x: Tensor): Tensor {
    let h = this.bn1.forwardReLU(this.conv1.forward(x));
    if (!this.smallInput) h = maxPool2d(h, { kernel: 3, stride: 2, padding: 1 });
    for (const stage of this.stages) h = stage.forward(h);
    return globalAvgPool2d(h);
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x);
    return this.fc ? this.fc.forward(f) : f;
  }
}

type Preset = Omit<ResNetOptions, "block" | "layers" | "groups" | "widthPerGroup">;

export const resnet18 = (o: Preset = {}) =>
  new ResNet({ ...o, block: "basic", layers: [2, 2, 2, 2] });
export const resnet34 = (o: Preset = {}) =>
  new ResNet({ ...o, block: "basic", layers: [3, 4, 6, 3] });
export const resnet50 = (o: Preset = {}) =>
  new ResNet({ ...o, block: "bottleneck", layers: [3, 4, 6, 3] });
export const resnet101 = (o: Preset = {}) =>
  new ResNet({ ...o, block: "bottleneck", layers: [3, 4, 23, 3] });
export const resnext50_32x4d = (o: Preset = {}) =>
  new ResNet({ ...o, block: "bottleneck", layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 });
/** The study's strongest trunk. */
export const resnext101_32x8d = (o: Preset = {}) =>
  new ResNet({ ...o, block: "bottleneck", layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 });
