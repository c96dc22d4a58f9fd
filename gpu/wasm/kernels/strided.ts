/**
 * Row walking of collapsed strided views (rank <= 8, from gpu/views.ts collapseViews): the last
 * dim is a row, handled by vector loops; the outer index is decomposed once per row.
 */

import { EW_SHAPE } from "./slots";
import { pi } from "./common";

/** Element offset of row `row` (outer dims of the view) under the strides at `strideSlot`. */
export function rowOffset(p: usize, row: i32, rank: i32, strideSlot: i32): i32 {
  let off = 0;
  let q = row;
  for (let d = rank - 2; d >= 0; d--) {
    const n = pi(p, EW_SHAPE + d);
    const i = q % n;
    q /= n;
    off += i * pi(p, strideSlot + d);
  }
  return off;
}

/** Rows of the view: product of all but the last dim. */
export function outerRows(p: usize, rank: i32): i32 {
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= pi(p, EW_SHAPE + d);
  return rows;
}

/** Row length chunk: whole rows when there are plenty, else rows cut for every thread. */
export function rowChunk(rows: i32, inner: i32, nt: i32): i32 {
  if (nt <= 1 || rows >= 4 * nt) return inner;
  const want = (inner + 4 * nt - 1) / (4 * nt);
  const chunk = (want + 15) & ~15;
  return chunk < inner ? chunk : inner;
}


/** Address of element `off` (signed) from `base`: wraps like wasm32 addresses do. */
export function at(base: usize, off: i32): usize {
  return base + (<usize> off << 2);
}
