/**
 * 2-D pooling with PyTorch's semantics (floor mode; max pool pads with -inf; avg pool counts the
 * padding in its divisor unless told not to). Max pool keeps its argmax (flat index into each
 * input plane, as PyTorch's return_indices) for the backward pass; global average pooling is a
 * mean, so it takes its gradient from there.
 */

import { pool2dParams, type PoolWindow } from "../../gpu/window-params.ts";
import type { Pool2dParams } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { mean } from "./reduce.ts";

type Pair = number | readonly [number, number];

export interface Pool2dOptions {
  kernel: Pair;
  /** Defaults to the kernel, as in PyTorch. */
  stride?: Pair;
  padding?: Pair;
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Whether padded cells count in the divisor (PyTorch's default: true). */
  countIncludePad?: boolean;
}

const pair = (v: Pair): [number, number] => (typeof v === "number" ? [v, v] : [v[0], v[1]]);

/** Params for an NCHW input; a 3-D [C,H,W] input (PyTorch accepts both) counts as N = 1. */
function prepare(op: string, x: Tensor, o: AvgPool2dOptions): Pool2dParams {
  if (x.dtype !== "f32") throw new Error(`${op}: input must be f32, got ${x.dtype}`);
  if (x.rank !== 3 && x.rank !== 4) {
    throw new Error(`${op}: input must be [N, C, H, W] or [C, H, W], got [${x.shape}]`);
  }
  const win: PoolWindow = {
    kernel: pair(o.kernel),
    stride: pair(o.stride ?? o.kernel),
    padding: pair(o.padding ?? 0),
    countIncludePad: o.countIncludePad ?? true,
  };
  return pool2dParams(op, x.rank === 3 ? [1, ...x.shape] : x.shape, win);
}

function outShape(x: Tensor, p: Pool2dParams): number[] {
  return [...x.shape.slice(0, -2), p.oh, p.ow];
}

/** Max pooling plus the argmax (i32, flat index into each H*W input plane). */
export function maxPool2dWithIndices(
  x: Tensor,
  options: Pool2dOptions,
): { y: Tensor; indices: Tensor } {
  const p = prepare("maxPool2d", x, options);
  const b = x.backend;
  const r = b.maxPool2d(x.storage, p);
  const shape = outShape(x, p);
  const indices = Tensor.fromStorage(b, r.argmax, shape);
  const y = Tensor.fromStorage(b, r.y, shape);
  record(y, [x], "maxPool2d", (g) => [
    Tensor.fromStorage(b, b.maxPool2dBackward(g.storage, indices.storage, p), x.shape),
  ]);
  return { y, indices };
}

export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const { y, indices } = maxPool2dWithIndices(x, options);
  // Without a graph nothing will read the argmax again: free it now, not at scope end.
  if (!y.requiresGrad) indices.dispose();
  return y;
}

export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const p = prepare("avgPool2d", x, options);
  const b = x.backend;
  const y = Tensor.fromStorage(b, b.avgPool2d(x.storage, p), outShape(x, p));
  return record(y, [x], "avgPool2d", (g) => [
    Tensor.fromStorage(b, b.avgPool2dBackward(g.storage, p), x.shape),
  ]);
}

/** [N, C, H, W] -> [N, C]: the mean over each plane (the ResNet/DenseNet head). */
export function globalAvgPool2d(x: Tensor): Tensor {
  if (x.rank !== 4) {
    throw new Error(`globalAvgPool2d: input must be [N, C, H, W], got [${x.shape}]`);
  }
  return mean(x, [2, 3]);
}
