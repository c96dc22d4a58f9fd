import type { StridedView } from "../../gpu/backend.ts";
import { contiguousStrides } from "../../gpu/backend.ts";

/** NumPy broadcasting of two shapes; the error names both. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`shapes [${a}] and [${b}] cannot be broadcast together`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Reads a dense tensor of `shape` as if it had `target` shape (stride 0 on broadcast dims). */
export function broadcastView(shape: readonly number[], target: readonly number[]): StridedView {
  const strides = contiguousStrides(shape);
  const offset = target.length - shape.length;
  return {
    shape: target,
    strides: target.map((_, i) => {
      const j = i - offset;
      return j < 0 || shape[j] === 1 ? 0 : strides[j];
    }),
    offset: 0,
  };
}

/** Axes summed to undo broadcasting `shape` up to `target` (the gradient's reduction). */
export function broadcastAxes(shape: readonly number[], target: readonly number[]): number[] {
  const offset = target.length - shape.length;
  const axes: number[] = [];
  target.forEach((d, i) => {
    const j = i - offset;
    if (j < 0 || (shape[j] === 1 && d !== 1)) axes.push(i);
  });
  return axes;
}
