/** CPU twins of gpu/shaders/elementwise.wgsl. */

import type { BinaryOp, DType, HostStorage, StridedView, UnaryOp } from "../types.ts";
import { sizeOf } from "../types.ts";
import { f32, wrap } from "./storage.ts";
import { forEachStrided } from "./strided.ts";

const fround = Math.fround;

/** Scalar rules shared with the WGSL expressions; the tests hold them to each other. */
export const UNARY: Record<UnaryOp, (x: number, p: number) => number> = {
  neg: (x) => -x,
  exp: (x) => Math.exp(x),
  log: (x) => Math.log(x),
  sqrt: (x) => Math.sqrt(x),
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: (x) => Math.abs(x),
  sign: (x) => Math.sign(x),
  // `x <= 0 ? 0 : x` keeps NaN, as PyTorch's relu does (a NaN must reach the loss).
  relu: (x) => (x <= 0 ? 0 : x),
  step: (x) => (x > 0 ? 1 : 0),
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  tanh: (x) => Math.tanh(x),
  silu: (x) => x * (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  scale: (x, p) => x * p,
  addScalar: (x, p) => x + p,
  powScalar: (x, p) => Math.pow(x, p),
  reverseGrad: (x, p) => -p * x,
  clampMin: (x, p) => Math.max(x, p),
  clampMax: (x, p) => Math.min(x, p),
};

export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  eq: (a, b) => (a === b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  // PyTorch's threshold_backward: the gradient passes unless the input is <= 0 (NaN passes).
  reluGrad: (a, b) => (b <= 0 ? 0 : a),
};

export function unary(op: UnaryOp, x: HostStorage, param: number): HostStorage {
  const src = f32(x);
  const out = new Float32Array(src.length);
  const fn = UNARY[op];
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
  const fn = BINARY[op];
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
