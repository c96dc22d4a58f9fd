import { contiguousStrides } from "./types.ts";

/** Splits a reduction into kept axes (the output) and reduced axes (looped per output). */
export interface ReducePlan {
  keptShape: number[];
  keptStrides: number[];
  reducedShape: number[];
  reducedStrides: number[];
}

export function reducePlan(shape: readonly number[], axes: readonly number[]): ReducePlan {
  const strides = contiguousStrides(shape);
  const normalised = new Set(axes.map((a) => {
    const axis = a < 0 ? a + shape.length : a;
    if (axis < 0 || axis >= shape.length) {
      throw new Error(`reduce axis ${a} out of range for shape [${shape}]`);
    }
    return axis;
  }));
  const plan: ReducePlan = { keptShape: [], keptStrides: [], reducedShape: [], reducedStrides: [] };
  shape.forEach((d, i) => {
    if (normalised.has(i)) {
      plan.reducedShape.push(d);
      plan.reducedStrides.push(strides[i]);
    } else {
      plan.keptShape.push(d);
      plan.keptStrides.push(strides[i]);
    }
  });
  return plan;
}
