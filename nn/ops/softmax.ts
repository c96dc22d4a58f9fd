/**
 * Softmax and log-softmax. The forward pass is one kernel over the last axis (other axes are
 * permuted there and back); the backward rules are composed from primitives.
 */

import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { exp, mul, sub } from "./elementwise.ts";
import { permute } from "./layout.ts";
import { sum } from "./reduce.ts";

function lastAxis(x: Tensor, log: boolean): Tensor {
  if (x.dtype !== "f32") throw new Error(`softmax needs an f32 tensor, got ${x.dtype}`);
  if (x.rank === 0) throw new Error("softmax of a scalar has no axis");
  const cols = x.shape[x.rank - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const y = Tensor.fromStorage(x.backend, x.backend.softmax(x.storage, rows, cols, log), x.shape);
  return record(y, [x], log ? "logSoftmax" : "softmax", (g) => {
    const last = x.rank - 1;
    // softmax: y * (g - sum(g * y)); log-softmax: g - softmax * sum(g).
    if (log) return [sub(g, mul(exp(y), sum(g, last, true)))];
    return [mul(y, sub(g, sum(mul(g, y), last, true)))];
  });
}

function alongAxis(x: Tensor, axis: number, log: boolean): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  if (a < 0 || a >= x.rank) throw new Error(`softmax axis ${axis} out of range for [${x.shape}]`);
  if (a === x.rank - 1) return lastAxis(x, log);
  const perm = [...Array(x.rank).keys()];
  [perm[a], perm[x.rank - 1]] = [perm[x.rank - 1], perm[a]];
  return permute(lastAxis(permute(x, perm), log), perm);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, false);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return alongAxis(x, axis, true);
}
