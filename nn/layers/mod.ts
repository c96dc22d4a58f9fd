/** Every layer, for `import * as layers from "./nn/layers/mod.ts"`. */

export { ReLU, Sigmoid, SiLU } from "./activation.ts";
export { BatchNorm1d, BatchNorm2d, type BatchNormLayerOptions } from "./batchnorm.ts";
export { Flatten, Identity, Sequential } from "./container.ts";
export { Conv2d, type Conv2dOptions, type Pair } from "./conv.ts";
export { Dropout } from "./dropout.ts";
export { Linear, type LinearOptions } from "./linear.ts";
export {
  AdaptiveAvgPool2d,
  AvgPool2d,
  GlobalAvgPool,
  MaxPool2d,
  type Pool2dOptions,
} from "./pool.ts";
