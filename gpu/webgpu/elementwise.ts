/** WebGPU side of gpu/shaders/elementwise.wgsl: unary, broadcasting binary, axpby, cast, fill. */

import type { BinaryOp, DType, StridedView, UnaryOp } from "../types.ts";
import { sizeOf } from "../types.ts";
import { BINARY_OPS, UNARY_OPS } from "../elementwise-ops.ts";
import { collapseViews, packDims } from "../views.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

function linear(n: number): [number, number, number] {
  return GpuRuntime.grid(Math.ceil(n / WG[0]));
}

export function unary(rt: GpuRuntime, op: UnaryOp, x: GpuStorage, param: number): GpuStorage {
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "elementwise",
    entry: "unary",
    defines: { EXPR: UNARY_OPS[op].wgsl },
    workgroupSize: WG,
    dispatch: linear(x.length),
    params: [{ u32: x.length }, { f32: param }],
    inputs: [x],
    outputs: [y],
  });
  return y;
}

export function binary(
  rt: GpuRuntime,
  op: BinaryOp,
  a: GpuStorage,
  aView: StridedView,
  b: GpuStorage,
  bView: StridedView,
): GpuStorage {
  const n = sizeOf(aView.shape);
  const y = rt.alloc(n, "f32");
  const c = collapseViews(aView.shape, [aView, bView]);
  rt.run({
    family: "elementwise",
    entry: "binary",
    defines: { EXPR: BINARY_OPS[op].wgsl },
    workgroupSize: WG,
    dispatch: linear(n),
    params: [
      { u32: n },
      { u32: c.shape.length },
      { i32: c.views[0].offset },
      { i32: c.views[1].offset },
      ...packDims(c.shape),
      ...packDims(c.views[0].strides),
      ...packDims(c.views[1].strides),
    ],
    inputs: [a, b],
    outputs: [y],
  });
  return y;
}

export function axpby(
  rt: GpuRuntime,
  a: number,
  x: GpuStorage,
  b: number,
  z: GpuStorage,
): GpuStorage {
  if (x.length !== z.length) throw new Error(`axpby: lengths ${x.length} and ${z.length}`);
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "elementwise",
    entry: "axpby",
    workgroupSize: WG,
    dispatch: linear(x.length),
    params: [{ u32: x.length }, { f32: a }, { f32: b }],
    inputs: [x, z],
    outputs: [y],
  });
  return y;
}

export function cast(rt: GpuRuntime, x: GpuStorage, to: DType): GpuStorage {
  const y = rt.alloc(x.length, to);
  rt.run({
    family: "elementwise",
    entry: "cast",
    defines: { FROM: x.dtype, TO: to },
    workgroupSize: WG,
    dispatch: linear(x.length),
    params: [{ u32: x.length }],
    inputs: [x],
    outputs: [y],
  });
  return y;
}

export function fill(rt: GpuRuntime, length: number, value: number, dtype: DType): GpuStorage {
  const y = rt.alloc(length, dtype);
  rt.run({
    family: "elementwise",
    entry: "fill",
    defines: { T: dtype },
    workgroupSize: WG,
    dispatch: linear(length),
    params: [{ u32: length }, { f32: value }],
    inputs: [],
    outputs: [y],
  });
  return y;
}
