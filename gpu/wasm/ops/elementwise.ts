/** Drivers of the element-wise kernels (kernels/elementwise.ts). */

import type { BinaryOp, DType, StridedView, UnaryOp } from "../../types.ts";
import { sizeOf } from "../../types.ts";
import { BINARY_OPS, UNARY_OPS, wasmCode } from "../../elementwise-ops.ts";
import * as reference from "../../cpu/elementwise.ts";
import { checkFusedInputs, type FusedProgram } from "../../fused-elementwise.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { checkView, writeViews } from "./views.ts";

/** Below this many elements a kernel runs on the main thread alone (a wake-up costs more). */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;

/** Runs range kernel `kind` (S.D_*) of kernels/dense.ts over n elements, after its slots. */
export function runDense(rt: WasmRuntime, kind: number, n: number): void {
  rt.params[S.DENSE_KIND] = kind;
  rt.params[S.DENSE_N] = n;
  rt.run("dense_task", n >= PARALLEL_MIN_ELEMENTS);
}

function needF32(op: string, ...list: WasmStorage[]): void {
  for (const s of list) {
    if (s.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${s.dtype}`);
  }
}

export function unary(rt: WasmRuntime, op: UnaryOp, x: WasmStorage, param: number): WasmStorage {
  needF32(op, x);
  const code = wasmCode(UNARY_OPS[op]);
  // No WASM kernel for this op: the reference rule, on the heap view.
  if (code === undefined) return rt.upload(reference.unary(op, x, param).data);
  const out = rt.alloc(x.length, "f32");
  const p = rt.begin();
  p[S.EW_OP] = code;
  p[S.EW_A] = x.ptr;
  p[S.EW_OUT] = out.ptr;
  rt.paramsF32[S.EW_PARAM] = param;
  runDense(rt, S.D_UNARY, x.length);
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
  const code = wasmCode(BINARY_OPS[op]);
  if (code === undefined) {
    return rt.upload(reference.binary(op, a, aView, b, bView).data);
  }
  const n = sizeOf(aView.shape);
  const out = rt.alloc(n, "f32");
  if (n === 0) return out;
  const p = rt.begin();
  p[S.EW_OP] = code;
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
  rt.paramsF32[S.EW_PARAM] = a;
  rt.paramsF32[S.EW_PARAM2] = b;
  runDense(rt, S.D_AXPBY, x.length);
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
  p[S.EW_FLAGS] = to === "i32" ? 1 : 0;
  runDense(rt, S.D_CAST, x.length);
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
  p[S.EW_PARAM] = bits.getInt32(0, true);
  runDense(rt, S.D_FILL, length);
  return out;
}

/**
 * A fused chain (gpu/fused-elementwise.ts) as the chain of its WASM kernels, each step's storage
 * freed after its last reader: the same passes and numbers as the unfused ops, since a WASM
 * kernel pass over memory is cheap next to a GPU dispatch.
 */
export function fused(
  rt: WasmRuntime,
  program: FusedProgram,
  inputs: readonly WasmStorage[],
): WasmStorage {
  checkFusedInputs(program, inputs);
  const n = inputs[0].length;
  const steps = program.steps;
  const last = steps.length - 1;
  const lastRead = steps.map((_, j) => j);
  steps.forEach((s, j) => {
    if ("unary" in s) lastRead[s.of] = j;
    if ("binary" in s) lastRead[s.a] = lastRead[s.b] = j;
  });
  const view: StridedView = { shape: [n], strides: [1], offset: 0 };
  const values: WasmStorage[] = [];
  const owned = new Set<number>();
  steps.forEach((s, j) => {
    if ("input" in s) {
      values.push(inputs[s.input]);
      return;
    }
    if ("constant" in s) values.push(fill(rt, n, s.constant, "f32"));
    else if ("unary" in s) values.push(unary(rt, s.unary, values[s.of], s.p));
    else values.push(binary(rt, s.binary, values[s.a], view, values[s.b], view));
    owned.add(j);
    for (const k of owned) {
      if (k !== last && lastRead[k] <= j) {
        rt.free(values[k]);
        owned.delete(k);
      }
    }
  });
  // The result is a storage of its own, never one of the inputs.
  return owned.has(last) ? values[last] : unary(rt, "scale", values[last], 1);
}
