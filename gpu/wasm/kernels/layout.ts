/** Strided copies: gather (view -> dense) and scatter (dense -> view), 32-bit, either dtype. */

import { EW_A, EW_AOFF, EW_ASTR, EW_B, EW_RANK, EW_SHAPE } from "./slots";
import { copyF32, grain, imin, nextGroup, pi } from "./common";
import { at, outerRows, rowChunk, rowOffset } from "./strided";

function copyRow(src: usize, ss: i32, dst: usize, ds: i32, len: i32): void {
  let j = 0;
  if (ss == 1 && ds == 1) {
    copyF32(dst, src, len);
    return;
  } else if (ss == 0 && ds == 1) {
    const v = v128.load32_splat(src);
    for (; j + 4 <= len; j += 4) v128.store(dst + (<usize> j << 2), v);
  }
  for (; j < len; j++) store<i32>(at(dst, j * ds), load<i32>(at(src, j * ss)));
}

/**
 * Walks the view at EW_A (strides EW_ASTR, offset EW_AOFF) against the dense buffer at EW_B:
 * `scatter` copies dense -> view, else view -> dense.
 */
function walk(p: usize, tid: i32, nt: i32, scatter: bool): void {
  const view = <usize> pi(p, EW_A);
  const dense = <usize> pi(p, EW_B);
  const rank = pi(p, EW_RANK);
  const inner = pi(p, EW_SHAPE + rank - 1);
  const sv = pi(p, EW_ASTR + rank - 1);
  const rows = outerRows(p, rank);
  const chunk = rowChunk(rows, inner, nt);
  const chunks = (inner + chunk - 1) / chunk;
  const items = rows * chunks;
  const per = grain(items, chunk, nt);
  for (let g = nextGroup(p, per); g < items; g = nextGroup(p, per)) {
    const end = imin(items, g + per);
    for (let item = g; item < end; item++) {
      const row = item / chunks;
      const j0 = (item - row * chunks) * chunk;
      const vo = at(view, pi(p, EW_AOFF) + rowOffset(p, row, rank, EW_ASTR) + j0 * sv);
      const d = dense + ((<usize> row * <usize> inner + <usize> j0) << 2);
      const len = imin(chunk, inner - j0);
      if (scatter) copyRow(d, 1, vo, sv, len);
      else copyRow(vo, sv, d, 1, len);
    }
  }
}

/** Dense out (EW_B) = the strided view of EW_A. */
export function gather_task(p: usize, tid: i32, nt: i32): void {
  walk(p, tid, nt, false);
}

/** The strided view of EW_A = dense src (EW_B). */
export function scatter_task(p: usize, tid: i32, nt: i32): void {
  walk(p, tid, nt, true);
}
