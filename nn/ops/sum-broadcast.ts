/**
 * reshape, broadcastTo and sum: each one's backward is built of the others, so they live in one
 * module that the element-wise, layout and reduction families all import (and re-export) without
 * importing each other in a circle.
 */

import { sizeOf, type StridedView } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { broadcastAxes, broadcastView } from "./broadcast.ts";

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferred = [...shape];
  const unknown = inferred.indexOf(-1);
  if (unknown >= 0) {
    const known = inferred.reduce((n, d, i) => (i === unknown ? n : n * d), 1);
    inferred[unknown] = known === 0 ? 0 : x.size / known;
  }
  if (sizeOf(inferred) !== x.size || inferred.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`cannot reshape [${x.shape}] (${x.size} elements) to [${shape}]`);
  }
  const y = x.withShape(inferred);
  return record(y, [x], "reshape", (g) => [reshape(g, x.shape)]);
}

/** A dense copy of a strided view of x, recorded by the caller. */
export function gatherRaw(x: Tensor, view: StridedView): Tensor {
  return Tensor.fromStorage(x.backend, x.backend.gather(x.storage, view), view.shape);
}

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.join() === shape.join()) return x;
  const y = gatherRaw(x, broadcastView(x.shape, shape));
  return record(y, [x], "broadcastTo", (g) => [
    reshape(sum(g, broadcastAxes(x.shape, shape)), x.shape),
  ]);
}

export function normaliseAxes(rank: number, axes?: number | readonly number[]): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === "number" ? [axes] : [...axes];
  return list.map((a) => {
    const axis = a < 0 ? a + rank : a;
    if (axis < 0 || axis >= rank) throw new Error(`axis ${a} out of range for rank ${rank}`);
    return axis;
  });
}

export function keptShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
}

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const list = normaliseAxes(x.rank, axes);
  const out = Tensor.fromStorage(
    x.backend,
    x.backend.reduce("sum", x.storage, x.shape, list),
    keptShape(x.shape, list, keepDims),
  );
  return record(out, [x], "sum", (g) => {
    const kept = reshape(g, keptShape(x.shape, list, true));
    return [broadcastTo(kept, x.shape)];
  });
}
