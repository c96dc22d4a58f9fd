import type { StridedView } from "./types.ts";

/** The most dims a kernel's view uniforms hold; collapsing keeps real shapes well below it. */
export const MAX_RANK = 8;

/**
 * Merges adjacent dims that every view walks contiguously, and drops size-1 dims, so
 * broadcasts like [N,C,H,W] + [1,C,1,1] run as rank 3 and dense ops as rank 1.
 */
export function collapseViews(
  shape: readonly number[],
  views: readonly StridedView[],
): { shape: number[]; views: StridedView[] } {
  const dims: number[] = [];
  const strides: number[][] = views.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (
      last >= 0 &&
      views.every((v, i) => strides[i][last] === v.strides[d] * shape[d])
    ) {
      dims[last] *= shape[d];
      views.forEach((v, i) => (strides[i][last] = v.strides[d]));
    } else {
      dims.push(shape[d]);
      views.forEach((v, i) => strides[i].push(v.strides[d]));
    }
  }
  if (dims.length === 0) {
    return {
      shape: [1],
      views: views.map((v) => ({ shape: [1], strides: [0], offset: v.offset })),
    };
  }
  return {
    shape: dims,
    views: views.map((v, i) => ({ shape: dims, strides: strides[i], offset: v.offset })),
  };
}

/** Eight signed ints, the uniform layout `array<vec4<i32>, 2>` of the view-walking kernels. */
export function packDims(values: readonly number[]): { i32: number }[] {
  if (values.length > MAX_RANK) {
    throw new Error(`view of rank ${values.length} exceeds the kernels' ${MAX_RANK} dims`);
  }
  const out: { i32: number }[] = [];
  for (let i = 0; i < MAX_RANK; i++) out.push({ i32: values[i] ?? 0 });
  return out;
}
