/** Reference implementations of the element-wise family; the rules are gpu/elementwise-ops.ts. */

import type { BinaryOp, DType, HostStorage, StridedView, UnaryOp } from "../types.ts";
import { sizeOf } from "../types.ts";
import { BINARY_OPS, UNARY_OPS } from "../elementwise-ops.ts";
import { checkFusedInputs, type FusedProgram } from "../fused-elementwise.ts";
import { f32, wrap } from "./storage.ts";
import { forEachStrided } from "./strided.ts";

const fround = Math.fround;

export function unary(op: UnaryOp, x: HostStorage, param: number): HostStorage {
  const src = f32(x);
  const out = new Float32Array(src.length);
  const fn: (x: number, p: number) => number = UNARY_OPS[op].cpu;
  const p = fround(param);
  for (let i = 0; i < src.length; i++) out[i] = fn(src[i], p);
  return wrap(out);
}

export function binary(
  op: BinaryOp,
  a: HostStorage,
  aView: StridedView,
  b: HostStorage,
  bView: StridedView,
): HostStorage {
  const shape = aView.shape;
  const out = new Float32Array(sizeOf(shape));
  const fn: (a: number, b: number) => number = BINARY_OPS[op].cpu;
  const av = a.data;
  const bv = b.data;
  let i = 0;
  forEachStrided(shape, [aView, bView], (ia, ib) => {
    out[i++] = fn(av[ia], bv[ib]);
  });
  return wrap(out);
}

export function cast(x: HostStorage, to: DType): HostStorage {
  const src = x.data;
  return wrap(to === "f32" ? Float32Array.from(src) : Int32Array.from(src, (v) => Math.trunc(v)));
}

export function axpby(a: number, x: HostStorage, b: number, y: HostStorage): HostStorage {
  const xs = f32(x);
  const ys = f32(y);
  if (xs.length !== ys.length) throw new Error(`axpby: lengths ${xs.length} and ${ys.length}`);
  const out = new Float32Array(xs.length);
  const fa = fround(a);
  const fb = fround(b);
  for (let i = 0; i < xs.length; i++) out[i] = fa * xs[i] + fb * ys[i];
  return wrap(out);
}

/**
 * A fused chain (gpu/fused-elementwise.ts), step by step over whole arrays, each step rounded
 * to f32 as the unfused chain's storages round it.
 */
export function fused(program: FusedProgram, inputs: readonly HostStorage[]): HostStorage {
  checkFusedInputs(program, inputs);
  const n = inputs[0].length;
  const values: Float32Array[] = [];
  for (const s of program.steps) {
    const out = new Float32Array(n);
    if ("input" in s) {
      out.set(f32(inputs[s.input]));
    } else if ("constant" in s) {
      out.fill(s.constant);
    } else if ("unary" in s) {
      const fn: (x: number, p: number) => number = UNARY_OPS[s.unary].cpu;
      const x = values[s.of];
      const p = fround(s.p);
      for (let i = 0; i < n; i++) out[i] = fn(x[i], p);
    } else {
      const fn: (a: number, b: number) => number = BINARY_OPS[s.binary].cpu;
      const a = values[s.a];
      const b = values[s.b];
      for (let i = 0; i < n; i++) out[i] = fn(a[i], b[i]);
    }
    values.push(out);
  }
  return wrap(values[values.length - 1]);
}
