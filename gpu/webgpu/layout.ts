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

export function gather(rt: GpuRuntime, x: GpuStorage, view: StridedView): GpuStorage {
  const n = sizeOf(view.shape);
  const y = rt.alloc(n, x.dtype);
  const c = collapseViews(view.shape, [view]).views[0];
  rt.run({
    family: "layout",
    entry: "gather",
    defines: { T: x.dtype },
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(n / WG[0])),
    params: viewParams(n, c),
    inputs: [x],
    outputs: [y],
  });
  return y;
}

export function copyInto(
  rt: GpuRuntime,
  src: GpuStorage,
  dst: GpuStorage,
  dstView: StridedView,
): void {
  const n = sizeOf(dstView.shape);
  if (src.dtype !== dst.dtype) throw new Error(`copyInto: ${src.dtype} into ${dst.dtype}`);
  const dense = { shape: dstView.shape, strides: contiguousStrides(dstView.shape), offset: 0 };
  const c = collapseViews(dstView.shape, [dense, dstView]).views[1];
  rt.run({
    family: "layout",
    entry: "scatter",
    defines: { T: src.dtype },
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(n / WG[0])),
    params: viewParams(n, c),
    inputs: [src],
    outputs: [dst],
  });
}
