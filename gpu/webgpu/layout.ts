/** WebGPU side of gpu/shaders/layout.wgsl: dense reads of views and writes into views. */

import type { StridedView } from "../types.ts";
import { contiguousStrides, sizeOf } from "../types.ts";
import { collapseViews, packDims } from "../views.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

function viewParams(n: number, view: StridedView) {
  return [
    { u32: n },
    { u32: view.shape.length },
    { i32: view.offset },
    { u32: 0 },
    ...packDims(view.shape),
    ...packDims(view.strides),
  ];
}

/** Runs one layout kernel over the n elements of `view` (collapsed): gather or scatter. */
function run(
  rt: GpuRuntime,
  entry: "gather" | "scatter",
  view: StridedView,
  input: GpuStorage,
  output: GpuStorage,
): void {
  const n = sizeOf(view.shape);
  rt.run({
    family: "layout",
    entry,
    defines: { T: input.dtype },
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(n / WG[0])),
    params: viewParams(n, view),
    inputs: [input],
    outputs: [output],
  });
}

export function gather(rt: GpuRuntime, x: GpuStorage, view: StridedView): GpuStorage {
  const y = rt.alloc(sizeOf(view.shape), x.dtype);
  run(rt, "gather", collapseViews(view.shape, [view]).views[0], x, y);
  return y;
}

export function copyInto(
  rt: GpuRuntime,
  src: GpuStorage,
  dst: GpuStorage,
  dstView: StridedView,
): void {
  if (src.dtype !== dst.dtype) throw new Error(`copyInto: ${src.dtype} into ${dst.dtype}`);
  const dense = { shape: dstView.shape, strides: contiguousStrides(dstView.shape), offset: 0 };
  run(rt, "scatter", collapseViews(dstView.shape, [dense, dstView]).views[1], src, dst);
}
