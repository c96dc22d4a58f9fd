/** WebGPU side of gpu/shaders/elementwise.wgsl: unary, broadcasting binary, axpby, cast, fill. */

import type { BinaryOp, DType, StridedView, UnaryOp } from "../types.ts";
import { sizeOf } from "../types.ts";
import { collapseViews, packDims } from "../views.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

/**
 * WGSL expressions of `x` and the scalar `p`; the CPU rules in gpu/cpu/elementwise.ts match,
 * NaN included (PyTorch's rules: relu, clamps, maximum and minimum pass NaN on).
 */
export const UNARY_WGSL: Record<UnaryOp, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "log(x)",
  sqrt: "sqrt(x)",
  rsqrt: "inverseSqrt(x)",
  abs: "abs(x)",
  sign: "signf(x)",
  relu: "select(max(x, 0.0), x, isNanF(x))",
  step: "select(0.0, 1.0, x > 0.0)",
  sigmoid: "sigmoidf(x)",
  tanh: "tanhf(x)",
  silu: "x * sigmoidf(x)",
  square: "x * x",
  reciprocal: "1.0 / x",
  scale: "x * p",
  addScalar: "x + p",
  powScalar: "powf(x, p)",
  reverseGrad: "-p * x",
  clampMin: "maxNan(x, p)",
  clampMax: "minNan(x, p)",
};

export const BINARY_WGSL: Record<BinaryOp, string> = {
  add: "a + b",
  sub: "a - b",
  mul: "a * b",
  div: "a / b",
  pow: "powf(a, b)",
  maximum: "maxNan(a, b)",
  minimum: "minNan(a, b)",
  eq: "select(0.0, 1.0, a == b)",
  gt: "select(0.0, 1.0, a > b)",
  ge: "select(0.0, 1.0, a >= b)",
  reluGrad: "select(0.0, a, b > 0.0 || isNanF(b))",
};

function linear(n: number): [number, number, number] {
  return GpuRuntime.grid(Math.ceil(n / WG[0]));
}

export function unary(rt: GpuRuntime, op: UnaryOp, x: GpuStorage, param: number): GpuStorage {
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "elementwise",
    entry: "unary",
    defines: { EXPR: UNARY_WGSL[op] },
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
    defines: { EXPR: BINARY_WGSL[op] },
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
