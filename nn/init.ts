/**
 * Parameter initialisation with PyTorch's defaults, so a model built here starts from the same
 * distributions as its torch twin: conv/linear weights kaiming_uniform(a = sqrt(5)) (bound
 * 1/sqrt(fan_in)), biases uniform(+-1/sqrt(fan_in)), batch-norm weight 1 and bias 0.
 * Draws come from the engine's seed stream (nn/random.ts) unless a seed is given, so
 * `manualSeed` makes initialisation identical on every backend.
 */

import type { Backend } from "../gpu/backend.ts";
import { denseView, sizeOf } from "../gpu/backend.ts";
import { nextSeed } from "./random.ts";
import { getDefaultBackend, Tensor } from "./tensor.ts";

export interface InitOptions {
  backend?: Backend;
  seed?: number;
}

export type Nonlinearity = "linear" | "conv2d" | "sigmoid" | "tanh" | "relu" | "leaky_relu";

/** fan_in = in_channels x receptive field, fan_out = out_channels x receptive field (torch). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new Error(`fan in/out need a weight of rank >= 2, got [${shape}]`);
  }
  const receptive = sizeOf(shape.slice(2));
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** torch.nn.init.calculate_gain. */
export function gain(nonlinearity: Nonlinearity, slope = 0.01): number {
  switch (nonlinearity) {
    case "linear":
    case "conv2d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu":
      return Math.sqrt(2 / (1 + slope * slope));
  }
}

/** a * r + b over a fresh random draw, freeing the temporaries. */
function affineRandom(
  shape: readonly number[],
  kind: "uniform" | "normal",
  a: number,
  b: number,
  { backend = getDefaultBackend(), seed = nextSeed() }: InitOptions,
): Tensor {
  const r = backend.random(sizeOf(shape), kind, 0, seed);
  const scaled = backend.unary("scale", r, a);
  backend.free(r);
  const shifted = backend.unary("addScalar", scaled, b);
  backend.free(scaled);
  return Tensor.fromStorage(backend, shifted, shape);
}

export function uniform(
  shape: readonly number[],
  low: number,
  high: number,
  options: InitOptions = {},
): Tensor {
  return affineRandom(shape, "uniform", high - low, low, options);
}

export function normal(
  shape: readonly number[],
  mean: number,
  std: number,
  options: InitOptions = {},
): Tensor {
  return affineRandom(shape, "normal", std, mean, options);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the rectifier after this layer (torch's `a`). */
  a?: number;
  mode?: "fan_in" | "fan_out";
  nonlinearity?: Nonlinearity;
}

function kaimingStd(shape: readonly number[], o: KaimingOptions): number {
  const f = fans(shape);
  const fan = (o.mode ?? "fan_in") === "fan_in" ? f.fanIn : f.fanOut;
  return gain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan);
}

/** torch.nn.init.kaiming_uniform_; the defaults are torch's, not the conv layers'. */
export function kaimingUniform(shape: readonly number[], options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, options);
  return uniform(shape, -bound, bound, options);
}

/** torch.nn.init.kaiming_normal_ (torchvision's ResNet uses mode fan_out, relu). */
export function kaimingNormal(shape: readonly number[], options: KaimingOptions = {}): Tensor {
  return normal(shape, 0, kaimingStd(shape, options), options);
}

/** The default weight of torch's Conv2d and Linear: kaiming_uniform(a = sqrt(5)). */
export function defaultWeight(shape: readonly number[], options: InitOptions = {}): Tensor {
  return kaimingUniform(shape, { ...options, a: Math.sqrt(5) });
}

/** The default bias of torch's Conv2d and Linear: uniform(+-1/sqrt(fan_in)) of the weight. */
export function defaultBias(weightShape: readonly number[], options: InitOptions = {}): Tensor {
  const { fanIn } = fans(weightShape);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([weightShape[0]], -bound, bound, options);
}

export function constant(
  shape: readonly number[],
  value: number,
  { backend = getDefaultBackend(), dtype = "f32" }: { backend?: Backend; dtype?: "f32" | "i32" } =
    {},
): Tensor {
  return Tensor.fromStorage(backend, backend.fill(sizeOf(shape), value, dtype), shape);
}

/**
 * Overwrites a parameter's values with `fresh` (then freed), keeping the tensor itself, so
 * re-initialising after construction (torchvision's ResNet does) leaves references valid.
 */
export function assignInPlace(target: Tensor, fresh: Tensor): void {
  if (fresh.shape.join() !== target.shape.join() || fresh.dtype !== target.dtype) {
    throw new Error(
      `cannot assign [${fresh.shape}] ${fresh.dtype} to ${target.name || "tensor"} ` +
        `[${target.shape}] ${target.dtype}`,
    );
  }
  target.backend.copyInto(fresh.storage, target.storage, denseView(target.shape));
  fresh.dispose();
}
