import type { StridedView } from "../types.ts";

/** Walks a shape in row-major order, handing the flat offset of each element in every view. */
export function forEachStrided(
  shape: readonly number[],
  views: readonly StridedView[],
  visit: (...offsets: number[]) => void,
): void {
  const rank = shape.length;
  for (const v of views) {
    if (v.strides.length !== rank) {
      throw new Error(`strided view of rank ${v.strides.length} walked with shape [${shape}]`);
    }
  }
  if (shape.some((d) => d === 0)) return;
  const index = new Array<number>(rank).fill(0);
  const offsets = views.map((v) => v.offset);
  for (;;) {
    visit(...offsets);
    let d = rank - 1;
    while (d >= 0) {
      index[d]++;
      for (let v = 0; v < views.length; v++) offsets[v] += views[v].strides[d];
      if (index[d] < shape[d]) break;
      for (let v = 0; v < views.length; v++) offsets[v] -= views[v].strides[d] * shape[d];
      index[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}
