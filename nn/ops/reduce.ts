/** Reductions: sum is primitive; mean, max/min backward are built from primitives. */

import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { div, eq, mul, scale } from "./elementwise.ts";
import { keptShape, normaliseAxes, reshape, sum } from "./sum-broadcast.ts";

export { sum };

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const list = normaliseAxes(x.rank, axes);
  const count = list.reduce((n, a) => n * x.shape[a], 1);
  return scale(sum(x, list, keepDims), 1 / count);
}

function extreme(
  op: "max" | "min",
  x: Tensor,
  axes?: number | readonly number[],
  keepDims = false,
) {
  const list = normaliseAxes(x.rank, axes);
  const out = Tensor.fromStorage(
    x.backend,
    x.backend.reduce(op, x.storage, x.shape, list),
    keptShape(x.shape, list, keepDims),
  );
  return record(out, [x], op, (g) => {
    // Ties share the gradient equally, as PyTorch's amax/amin do.
    const shape = keptShape(x.shape, list, true);
    const mask = eq(x, reshape(out.detach(), shape));
    const count = sum(mask, list, true);
    return [mul(div(mask, count), reshape(g, shape))];
  });
}

export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extreme("max", x, axes, keepDims);
}

export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extreme("min", x, axes, keepDims);
}
