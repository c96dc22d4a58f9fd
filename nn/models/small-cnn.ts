/**
 * The compact CNN of the W4 benchmark: two 5x5 conv + batch-norm + ReLU + 2x2 max-pool stages
 * and one linear layer, sized for 28x28 inputs (28 -> 24 -> 12 -> 8 -> 4, so 32 x 4 x 4 = 512
 * features). Small enough to train on the CPU backend in seconds; the 1-channel variant is the
 * MNIST demo's model.
 */

import type { Backend } from "../../gpu/backend.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Conv2d } from "../layers/conv.ts";
import { Linear } from "../layers/linear.ts";
import { Layer } from "../module.ts";
import { flatten } from "../ops/layout.ts";
import { maxPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";

export interface SmallCnnOptions {
  inChannels?: number;
  numClasses?: number;
  backend?: Backend;
}

/** Input side length the linear layer's 512 inputs are computed for. */
export const SMALL_CNN_INPUT = 28;

export class SmallCnn extends Layer {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly fc: Linear;
  /** Width of `features()`: what a debiasing head attaches to. */
  readonly numFeatures = 512;

  constructor({ inChannels = 3, numClasses = 10, backend }: SmallCnnOptions = {}) {
    super(backend);
    const b = { backend: this.backend };
    this.conv1 = this.addModule("conv1", new Conv2d(inChannels, 16, 5, b));
    this.bn1 = this.addModule("bn1", new BatchNorm2d(16, b));
    this.conv2 = this.addModule("conv2", new Conv2d(16, 32, 5, b));
    this.bn2 = this.addModule("bn2", new BatchNorm2d(32, b));
    this.fc = this.addModule("fc", new Linear(this.numFeatures, numClasses, b));
  }

  /** The encoder: [N, C, 28, 28] to [N, 512]. */
  features(x: Tensor): Tensor {
    const c = this.conv1.inChannels;
    if (x.rank !== 4 || x.shape[1] !== c || x.shape[2] !== 28 || x.shape[3] !== 28) {
      throw new Error(`SmallCnn expects input [N, ${c}, 28, 28], got [${x.shape}]`);
    }
    const h = maxPool2d(this.bn1.forwardReLU(this.conv1.forward(x)), { kernel: 2 });
    const y = maxPool2d(this.bn2.forwardReLU(this.conv2.forward(h)), { kernel: 2 });
    return flatten(y);
  }

  forward(x: Tensor): Tensor {
    return this.fc.forward(this.features(x));
  }
}

/** The W4 benchmark CNN on RGB 28x28 inputs. */
export function smallCnn(options: SmallCnnOptions = {}): SmallCnn {
  return new SmallCnn({ inChannels: 3, ...options });
}

/** The same network on grey 28x28 digits (the MNIST demo). */
export function smallCnnMnist(options: Omit<SmallCnnOptions, "inChannels"> = {}): SmallCnn {
  return new SmallCnn({ ...options, inChannels: 1 });
}
