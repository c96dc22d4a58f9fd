/** Random tensors and dropout, drawn by the backends' counter-based generator. */

import { sizeOf } from "../../gpu/backend.ts";
import { nextSeed } from "../random.ts";
import { getDefaultBackend, Tensor, type TensorOptions } from "../tensor.ts";
import { mul } from "./elementwise.ts";

export function rand(shape: readonly number[], seed = nextSeed(), options: TensorOptions = {}) {
  const backend = options.backend ?? getDefaultBackend();
  return Tensor.fromStorage(backend, backend.random(sizeOf(shape), "uniform", 0, seed), shape);
}

export function randn(shape: readonly number[], seed = nextSeed(), options: TensorOptions = {}) {
  const backend = options.backend ?? getDefaultBackend();
  return Tensor.fromStorage(backend, backend.random(sizeOf(shape), "normal", 0, seed), shape);
}

/** Inverted dropout: zeroes with probability p and scales survivors by 1/(1-p) in training. */
export function dropout(x: Tensor, p: number, training: boolean, seed = nextSeed()): Tensor {
  if (p < 0 || p >= 1) throw new Error(`dropout probability ${p} is not in [0, 1)`);
  if (!training || p === 0) return x;
  const keepMask = x.backend.random(x.size, "bernoulli", 1 - p, seed);
  const scaled = x.backend.unary("scale", keepMask, 1 / (1 - p));
  x.backend.free(keepMask);
  return mul(x, Tensor.fromStorage(x.backend, scaled, x.shape));
}
