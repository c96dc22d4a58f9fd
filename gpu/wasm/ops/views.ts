/** Strided-view plumbing of the WASM drivers: bounds checks and the kernels' view slots. */

import type { StridedView } from "../../types.ts";
import { collapseViews, MAX_RANK } from "../../views.ts";
import { EW_AOFF, EW_ASTR, EW_BOFF, EW_BSTR, EW_RANK, EW_SHAPE } from "../kernels/slots.ts";

/**
 * Throws unless every element of `view` lies inside a storage of `length` elements. Kernels
 * share one memory, so an out-of-range view would silently read or write another tensor.
 */
export function checkView(op: string, view: StridedView, length: number): void {
  if (view.shape.some((d) => d === 0)) return;
  let lo = view.offset;
  let hi = view.offset;
  view.shape.forEach((d, i) => {
    const span = (d - 1) * view.strides[i];
    if (span < 0) lo += span;
    else hi += span;
  });
  if (lo < 0 || hi >= length) {
    throw new Error(
      `${op}: view [${view.shape}] strides [${view.strides}] offset ${view.offset} reaches ` +
        `elements ${lo}..${hi} of a storage of ${length}`,
    );
  }
}

/** Collapses `views` over `shape` and writes shape, strides and offsets to the view slots. */
export function writeViews(p: Int32Array, shape: readonly number[], views: StridedView[]): void {
  const c = collapseViews(shape, views);
  if (c.shape.length > MAX_RANK) {
    throw new Error(`view of rank ${c.shape.length} exceeds the kernels' ${MAX_RANK} dims`);
  }
  p[EW_RANK] = c.shape.length;
  p.set(c.shape, EW_SHAPE);
  p.set(c.views[0].strides, EW_ASTR);
  p[EW_AOFF] = c.views[0].offset;
  if (c.views.length > 1) {
    p.set(c.views[1].strides, EW_BSTR);
    p[EW_BOFF] = c.views[1].offset;
  }
}

/** Whether no two elements of the view share a memory cell (safe to split over threads). */
export function isInjective(view: StridedView): boolean {
  const dims = view.shape.map((d, i) => ({ d, s: Math.abs(view.strides[i]) }))
    .filter((x) => x.d > 1)
    .sort((a, b) => a.s - b.s);
  let reach = 1;
  for (const { d, s } of dims) {
    if (s < reach) return false;
    reach = s * d;
  }
  return true;
}
