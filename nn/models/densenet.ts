/**
 * DenseNet-121 / 161 / 169 / 201 as torchvision builds them, down to parameter names
 * (`features.conv0`, `features.denseblock3.denselayer12.norm2`, `features.transition1.conv`,
 * `features.norm5`, `classifier`; timm's `densenet161.tv_in1k` keeps them) and initialisation
 * (conv kaiming_normal, batch norm 1/0, classifier bias 0). Each layer sees the channel
 * concatenation of everything before it in its block; the study's `--arch densenet` is
 * densenet161 (2208 features).
 */

import type { Backend } from "../../gpu/backend.ts";
import { assignInPlace, constant, kaimingNormal } from "../init.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Conv2d } from "../layers/conv.ts";
import { Linear } from "../layers/linear.ts";
import { Layer } from "../module.ts";
import { relu } from "../ops/elementwise.ts";
import { concat } from "../ops/layout.ts";
import { avgPool2d, globalAvgPool2d, maxPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";

const convInit = (shape: readonly number[], o: { backend?: Backend; seed?: number }) =>
  kaimingNormal(shape, { ...o, mode: "fan_in", nonlinearity: "relu" });

function conv(cin: number, cout: number, k: number, backend: Backend, stride = 1, padding = 0) {
  return new Conv2d(cin, cout, k, { stride, padding, bias: false, backend, weightInit: convInit });
}

/** BN-ReLU-conv1x1 to bn_size x growth, BN-ReLU-conv3x3 to growth channels. */
export class DenseLayer extends Layer {
  readonly norm1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly conv2: Conv2d;

  constructor(cin: number, growth: number, bnSize: number, backend: Backend) {
    super(backend);
    const mid = bnSize * growth;
    this.norm1 = this.addModule("norm1", new BatchNorm2d(cin, { backend }));
    this.conv1 = this.addModule("conv1", conv(cin, mid, 1, backend));
    this.norm2 = this.addModule("norm2", new BatchNorm2d(mid, { backend }));
    this.conv2 = this.addModule("conv2", conv(mid, growth, 3, backend, 1, 1));
  }

  forward(x: Tensor): Tensor {
    const h = this.conv1.forward(this.norm1.forwardReLU(x));
    return this.conv2.forward(this.norm2.forwardReLU(h));
  }
}

/** `layers` dense layers, each fed the concatenation of the block input and earlier outputs. */
export class DenseBlock extends Layer {
  readonly layers: DenseLayer[] = [];

  constructor(layers: number, cin: number, growth: number, bnSize: number, backend: Backend) {
    super(backend);
    for (let i = 0; i < layers; i++) {
      const layer = new DenseLayer(cin + i * growth, growth, bnSize, backend);
      this.layers.push(this.addModule(`denselayer${i + 1}`, layer));
    }
  }

  forward(x: Tensor): Tensor {
    const features = [x];
    for (const layer of this.layers) {
      features.push(layer.forward(features.length === 1 ? x : concat(features, 1)));
    }
    return concat(features, 1);
  }
}

/** BN-ReLU-conv1x1 halving the channels, then 2x2 average pooling. */
export class Transition extends Layer {
  readonly norm: BatchNorm2d;
  readonly conv: Conv2d;

  constructor(cin: number, cout: number, backend: Backend) {
    super(backend);
    this.norm = this.addModule("norm", new BatchNorm2d(cin, { backend }));
    this.conv = this.addModule("conv", conv(cin, cout, 1, backend));
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(this.conv.forward(this.norm.forwardReLU(x)), { kernel: 2, stride: 2 });
  }
}

/** The stem (conv0, norm0, ReLU, 3x3/2 max-pool), then blocks and transitions, then norm5. */
class DenseFeatures extends Layer {
  readonly conv0: Conv2d;
  readonly norm0: BatchNorm2d;
  readonly stages: Layer[] = [];
  readonly norm5: BatchNorm2d;
  readonly channels: number;

  constructor(o: Required<Omit<DenseNetOptions, "numClasses">>) {
    super(o.backend);
    const b = o.backend;
    this.conv0 = this.addModule("conv0", conv(o.inChannels, o.initFeatures, 7, b, 2, 3));
    this.norm0 = this.addModule("norm0", new BatchNorm2d(o.initFeatures, { backend: b }));
    let c = o.initFeatures;
    o.blocks.forEach((layers, i) => {
      const block = new DenseBlock(layers, c, o.growth, o.bnSize, b);
      this.stages.push(this.addModule(`denseblock${i + 1}`, block));
      c += layers * o.growth;
      if (i < o.blocks.length - 1) {
        this.stages.push(this.addModule(`transition${i + 1}`, new Transition(c, c >> 1, b)));
        c >>= 1;
      }
    });
    this.norm5 = this.addModule("norm5", new BatchNorm2d(c, { backend: b }));
    this.channels = c;
  }

  forward(x: Tensor): Tensor {
    let h = this.norm0.forwardReLU(this.conv0.forward(x));
    h = maxPool2d(h, { kernel: 3, stride: 2, padding: 1 });
    for (const stage of this.stages) h = stage.forward(h);
    return this.norm5.forward(h);
  }
}

export interface DenseNetOptions {
  growth: number;
  /** Dense layers per block, e.g. [6, 12, 24, 16] for DenseNet-121. */
  blocks: readonly number[];
  initFeatures: number;
  bnSize?: number;
  /** Classifier outputs; 0 leaves out `classifier`, so `forward` returns the pooled features. */
  numClasses?: number;
  inChannels?: number;
  backend?: Backend;
}

export class DenseNet extends Layer {
  readonly features: DenseFeatures;
  readonly classifier: Linear | null;
  readonly numFeatures: number;

  constructor(o: DenseNetOptions) {
    super(o.backend);
    const b = this.backend;
    this.features = this.addModule(
      "features",
      new DenseFeatures({ bnSize: 4, inChannels: 3, ...o, backend: b }),
    );
    this.numFeatures = this.features.channels;
    const classes = o.numClasses ?? 1000;
    this.classifier = null;
    if (classes > 0) {
      const fc = new Linear(this.numFeatures, classes, { backend: b });
      assignInPlace(fc.bias!, constant([classes], 0, { backend: b }));
      this.classifier = this.addModule("classifier", fc);
    }
  }

  /** Features, ReLU and global average pooling: [N, 3, H, W] to [N, numFeatures]. */
  pooled(x: Tensor): Tensor {
    return globalAvgPool2d(relu(this.features.forward(x)));
  }

  forward(x: Tensor): Tensor {
    const f = this.pooled(x);
    return this.classifier ? this.classifier.forward(f) : f;
  }
}

type Preset = Omit<DenseNetOptions, "growth" | "blocks" | "initFeatures">;

export const densenet121 = (o: Preset = {}) =>
  new DenseNet({ ...o, growth: 32, blocks: [6, 12, 24, 16], initFeatures: 64 });
/** The study's `--arch densenet`. */
export const densenet161 = (o: Preset = {}) =>
  new DenseNet({ ...o, growth: 48, blocks: [6, 12, 36, 24], initFeatures: 96 });
export const densenet169 = (o: Preset = {}) =>
  new DenseNet({ ...o, growth: 32, blocks: [6, 12, 32, 32], initFeatures: 64 });
export const densenet201 = (o: Preset = {}) =>
  new DenseNet({ ...o, growth: 32, blocks: [6, 12, 48, 32], initFeatures: 64 });
