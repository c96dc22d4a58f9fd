/** Drivers of the element-wise kernels (kernels/elementwise.ts). */

import type { BinaryOp, DType, StridedView, UnaryOp } from "../../types.ts";
import { sizeOf } from "../../types.ts";
import * as reference from "../../cpu/elementwise.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { checkView, writeViews } from "./views.ts";

/** Below this many elements a kernel runs on the main thread alone (a wake-up costs more). */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;

/** Ops left to the TypeScript twin (Math.pow's special cases; rare in training). */
const TWIN = -1;

const UNARY: Record<UnaryOp, number> = {
  neg: S.U_NEG,
  exp: S.U_EXP,
  log: S.U_LOG,
  sqrt: S.U_SQRT,
  rsqrt: S.U_RSQRT,
  abs: S.U_ABS,
  sign: S.U_SIGN,
  relu: S.U_RELU,
  step: S.U_STEP,
  sigmoid: S.U_SIGMOID,
  tanh: S.U_TANH,
  silu: S.U_SILU,
  square: S.U_SQUARE,
  reciprocal: S.U_RECIPROCAL,
  scale: S.U_SCALE,
  addScalar: S.U_ADD_SCALAR,
  powScalar: TWIN,
  reverseGrad: S.U_REVERSE_GRAD,
  clampMin: S.U_CLAMP_MIN,
  clampMax: S.U_CLAMP_MAX,
};

const BINARY: Record<BinaryOp, number> = {
  add: S.B_ADD,
  sub: S.B_SUB,
  mul: S.B_MUL,
  div: S.B_DIV,
  pow: TWIN,
  maximum: S.B_MAXIMUM,
  minimum: S.B_MINIMUM,
  eq: S.B_EQ,
  gt: S.B_GT,
  ge: S.B_GE,
  reluGrad: S.B_RELU_GRAD,
};

function needF32(op: string, ...list: WasmStorage[]): void {
  for (const s of list) {
    if (s.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${s.dtype}`);
  }
}

export function unary(rt: WasmRuntime, op: UnaryOp, x: WasmStorage, param: number): WasmStorage {
  needF32(op, x);
  if (UNARY[op] === TWIN) return rt.upload(reference.unary(op, x, param).data);
  const out = rt.alloc(x.length, "f32");
  const p = rt.begin();
  p[S.EW_OP] = UNARY[op];
  p[S.EW_A] = x.ptr;
  p[S.EW_OUT] = out.ptr;
  p[S.EW_N] = x.length;
  rt.paramsF32[S.EW_PARAM] = param;
  rt.run("unary_task", x.length >= PARALLEL_MIN_ELEMENTS);
  return out;
}

export function binary(
  rt: WasmRuntime,
  op: BinaryOp,
  a: WasmStorage,
  aView: StridedView,
  b: WasmStorage,
  bView: StridedView,
): WasmStorage {
  needF32(op, a, b);
  if (aView.shape.join() !== bView.shape.join()) {
    throw new Error(`${op}: view shapes [${aView.shape}] and [${bView.shape}] differ`);
  }
  checkView(op, aView, a.length);
  checkView(op, bView, b.length);
  if (BINARY[op] === TWIN) {
    return rt.upload(reference.binary(op, a, aView, b, bView).data);
  }
  const n = sizeOf(aView.shape);
  const out = rt.alloc(n, "f32");
  if (n === 0) return out;
  const p = rt.begin();
  p[S.EW_OP] = BINARY[op];
  p[S.EW_A] = a.ptr;
  p[S.EW_B] = b.ptr;
  p[S.EW_OUT] = out.ptr;
  writeViews(p, aView.shape, [aView, bView]);
  rt.run("binary_task", n >= PARALLEL_MIN_ELEMENTS);
  return out;
}

export function axpby(
  rt: WasmRuntime,
  a: number,
  x: WasmStorage,
  b: number,
  y: WasmStorage,
): WasmStorage {
  needF32("axpby", x, y);
  if (x.length !== y.length) throw new Error(`axpby: lengths ${x.length} and ${y.length}`);
  const out = rt.alloc(x.length, "f32");
  const p = rt.begin();
  p[S.EW_A] = x.ptr;
  p[S.EW_B] = y.ptr;
  p[S.EW_OUT] = out.ptr;
  p[S.EW_N] = x.length;
  rt.paramsF32[S.EW_PARAM] = a;
  rt.paramsF32[S.EW_PARAM2] = b;
  rt.run("axpby_task", x.length >= PARALLEL_MIN_ELEMENTS);
  return out;
}

export function cast(rt: WasmRuntime, x: WasmStorage, to: DType): WasmStorage {
  const out = rt.alloc(x.length, to);
  if (x.dtype === to) {
    out.data.set(x.data);
    return out;
  }
  const p = rt.begin();
  p[S.EW_A] = x.ptr;
  p[S.EW_OUT] = out.ptr;
  p[S.EW_N] = x.length;
  p[S.EW_FLAGS] = to === "i32" ? 1 : 0;
  rt.run("cast_task", x.length >= PARALLEL_MIN_ELEMENTS);
  return out;
}

const bits = new DataView(new ArrayBuffer(4));

/** A storage of `length` copies of `value` (stored as the dtype's typed array would). */
export function fill(rt: WasmRuntime, length: number, value: number, dtype: DType): WasmStorage {
  const out = rt.alloc(length, dtype);
  if (dtype === "f32") bits.setFloat32(0, value, true);
  else bits.setInt32(0, value | 0, true);
  const p = rt.begin();
  p[S.EW_OUT] = out.ptr;
  p[S.EW_N] = length;
  p[S.EW_PARAM] = bits.getInt32(0, true);
  rt.run("fill_task", length >= PARALLEL_MIN_ELEMENTS);
  return out;
}
