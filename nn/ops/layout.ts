/** Shape and layout ops: reshape shares storage; the rest are strided gathers and scatters. */

import { contiguousStrides, sizeOf } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { broadcastTo, gatherRaw, reshape } from "./sum-broadcast.ts";

export { broadcastTo, reshape };

export const flatten = (x: Tensor, startDim = 1) => reshape(x, [...x.shape.slice(0, startDim), -1]);

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const shape = [...x.shape];
  shape.splice(axis < 0 ? axis + x.rank + 1 : axis, 0, 1);
  return reshape(x, shape);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = axis < 0 ? axis + x.rank : axis;
  if (x.shape[a] !== 1) throw new Error(`squeeze axis ${axis} of shape [${x.shape}] is not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) {
    throw new Error(`permute [${perm}] is not a permutation of rank ${x.rank}`);
  }
  const strides = contiguousStrides(x.shape);
  const y = gatherRaw(x, {
    shape: perm.map((p) => x.shape[p]),
    strides: perm.map((p) => strides[p]),
    offset: 0,
  });
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return record(y, [x], "permute", (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const perm = [...Array(x.rank).keys()];
  const ia = a < 0 ? a + x.rank : a;
  const ib = b < 0 ? b + x.rank : b;
  [perm[ia], perm[ib]] = [perm[ib], perm[ia]];
  return permute(x, perm);
}

export function flip(x: Tensor, axes: readonly number[]): Tensor {
  const strides = contiguousStrides(x.shape);
  let offset = 0;
  const list = axes.map((a) => (a < 0 ? a + x.rank : a));
  const flipped = strides.map((s, i) => {
    if (!list.includes(i)) return s;
    offset += (x.shape[i] - 1) * s;
    return -s;
  });
  const y = gatherRaw(x, { shape: x.shape, strides: flipped, offset });
  return record(y, [x], "flip", (g) => [flip(g, list)]);
}

/** The view of `start..end` (exclusive) along `axis` of a dense tensor of `shape`. */
function sliceView(shape: readonly number[], axis: number, start: number, end: number) {
  const strides = contiguousStrides(shape);
  return {
    shape: shape.map((d, i) => (i === axis ? end - start : d)),
    strides,
    offset: start * strides[axis],
  };
}

export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  if (start < 0 || end > x.shape[a] || start > end) {
    throw new Error(`slice ${start}:${end} out of range for axis ${axis} of [${x.shape}]`);
  }
  const view = sliceView(x.shape, a, start, end);
  const y = gatherRaw(x, view);
  return record(y, [x], "slice", (g) => {
    const gx = x.backend.zeros(x.size, "f32");
    x.backend.copyInto(g.storage, gx, view);
    return [Tensor.fromStorage(x.backend, gx, x.shape)];
  });
}

export function concat(list: readonly Tensor[], axis: number): Tensor {
  if (list.length === 0) throw new Error("concat of no tensors");
  const first = list[0];
  const a = axis < 0 ? axis + first.rank : axis;
  for (const t of list) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat along ${axis}: shapes [${first.shape}] and [${t.shape}] differ`);
    }
  }
  const shape = first.shape.map((d, i) => (i === a ? list.reduce((n, t) => n + t.shape[a], 0) : d));
  const out = first.backend.zeros(sizeOf(shape), first.dtype);
  const bounds: [number, number][] = [];
  let at = 0;
  for (const t of list) {
    const view = sliceView(shape, a, at, at + t.shape[a]);
    first.backend.copyInto(t.storage, out, view);
    bounds.push([at, at + t.shape[a]]);
    at += t.shape[a];
  }
  const y = Tensor.fromStorage(first.backend, out, shape);
  return record(y, [...list], "concat", (g) => bounds.map(([s, e]) => slice(g, a, s, e)));
}
