/** WebGPU side of gpu/shaders/reduce.wgsl. */

import type { ReduceOp } from "../types.ts";
import { sizeOf } from "../types.ts";
import { reducePlan } from "../reduce-plan.ts";
import { collapseViews, packDims } from "../views.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

/** The tree snippet's combining op (prelude.wgsl), used by both reduce kernels. */
const OP: Record<ReduceOp, string> = {
  sum: "TREE_SUM",
  max: "TREE_MAX",
  min: "TREE_MIN",
};
const INIT: Record<ReduceOp, string> = {
  sum: "0.0",
  max: "bitcast<f32>(0xff800000u)",
  min: "bitcast<f32>(0x7f800000u)",
};

export function reduce(
  rt: GpuRuntime,
  op: ReduceOp,
  x: GpuStorage,
  shape: readonly number[],
  axes: readonly number[],
): GpuStorage {
  const plan = reducePlan(shape, axes);
  const outputs = sizeOf(plan.keptShape);
  const reducedSize = sizeOf(plan.reducedShape);
  const kept = collapseViews(plan.keptShape, [{
    shape: plan.keptShape,
    strides: plan.keptStrides,
    offset: 0,
  }]);
  const red = collapseViews(plan.reducedShape, [{
    shape: plan.reducedShape,
    strides: plan.reducedStrides,
    offset: 0,
  }]);
  const y = rt.alloc(outputs, "f32");
  const perWorkgroup = reducedSize >= 128;
  const wg = perWorkgroup ? 128 : 64;
  rt.run({
    family: "reduce",
    entry: perWorkgroup ? "perWorkgroup" : "perThread",
    defines: { OP: OP[op], INIT: INIT[op] },
    workgroupSize: [wg, 1, 1],
    dispatch: GpuRuntime.grid(perWorkgroup ? outputs : Math.ceil(outputs / wg)),
    params: [
      { u32: outputs },
      { u32: kept.shape.length },
      { u32: red.shape.length },
      { u32: reducedSize },
      ...packDims(kept.shape),
      ...packDims(kept.views[0].strides),
      ...packDims(red.shape),
      ...packDims(red.views[0].strides),
    ],
    inputs: [x],
    outputs: [y],
  });
  return y;
}
