/**
 * Element-wise kernels: unary ops, broadcasting binary ops over strided views, axpby, casts
 * and fills. Vector loops wherever the op has a wasm SIMD form; transcendental ops run in f64
 * scalar code, like the TypeScript reference (whose results they then match). Powers are left
 * to the reference twin: a table-free pow with all of Math.pow's special cases is not worth it.
 */

import {
  B_ADD,
  B_DIV,
  B_EQ,
  B_GE,
  B_RELU_GRAD,
  B_GT,
  B_MAXIMUM,
  B_MINIMUM,
  B_MUL,
  B_SUB,
  EW_A,
  EW_AOFF,
  EW_ASTR,
  EW_B,
  EW_BOFF,
  EW_BSTR,
  EW_FLAGS,
  EW_OP,
  EW_OUT,
  EW_PARAM,
  EW_PARAM2,
  EW_RANK,
  EW_SHAPE,
  U_ABS,
  U_ADD_SCALAR,
  U_CLAMP_MAX,
  U_CLAMP_MIN,
  U_EXP,
  U_LOG,
  U_NEG,
  U_RECIPROCAL,
  U_RELU,
  U_REVERSE_GRAD,
  U_RSQRT,
  U_SCALE,
  U_SIGMOID,
  U_SIGN,
  U_SILU,
  U_SQRT,
  U_SQUARE,
  U_STEP,
  U_TANH,
} from "./slots";
import { grain, imin, nextGroup, pf, pi } from "./common";
import { expF64, logF64 } from "./math";
import { at, outerRows, rowChunk, rowOffset } from "./strided";

function sigmoid(x: f64): f64 {
  if (x >= 0) return 1 / (1 + expF64(-x));
  const e = expF64(x);
  return e / (1 + e);
}

function unaryScalar(op: i32, x: f32, p: f32): f32 {
  switch (op) {
    case U_NEG:
      return -x;
    case U_EXP:
      return <f32> expF64(x);
    case U_LOG:
      return <f32> logF64(x);
    case U_SQRT:
      return <f32> Math.sqrt(x);
    case U_RSQRT:
      return <f32> (1 / Math.sqrt(x));
    case U_ABS:
      return Mathf.abs(x);
    case U_SIGN:
      return x > 0 ? 1 : x < 0 ? -1 : x;
    case U_RELU:
      // NaN stays NaN, as in PyTorch: only x <= 0 becomes 0.
      return x <= 0 ? 0 : x;
    case U_STEP:
      return x > 0 ? 1 : 0;
    case U_SIGMOID:
      return <f32> sigmoid(x);
    case U_TANH:
      return <f32> Math.tanh(x);
    case U_SILU:
      return <f32> (<f64> x * sigmoid(x));
    case U_SQUARE:
      return x * x;
    case U_RECIPROCAL:
      return 1 / x;
    case U_SCALE:
      return x * p;
    case U_ADD_SCALAR:
      return x + p;
    case U_REVERSE_GRAD:
      return -p * x;
    case U_CLAMP_MIN:
      return Mathf.max(x, p);
    case U_CLAMP_MAX:
      return Mathf.min(x, p);
  }
  return x;
}

function unaryHasVector(op: i32): bool {
  return op != U_EXP && op != U_LOG && op != U_SIGN && op != U_SIGMOID && op != U_TANH &&
    op != U_SILU;
}

function unaryVector(op: i32, x: v128, p: v128): v128 {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  switch (op) {
    case U_NEG:
      return f32x4.neg(x);
    case U_SQRT:
      return f32x4.sqrt(x);
    case U_RSQRT:
      return f32x4.div(one, f32x4.sqrt(x));
    case U_ABS:
      return f32x4.abs(x);
    case U_RELU:
      // Clears the lanes with x <= 0; NaN lanes compare false and keep their NaN.
      return v128.andnot(x, f32x4.le(x, zero));
    case U_STEP:
      return v128.and(one, f32x4.gt(x, zero));
    case U_SQUARE:
      return f32x4.mul(x, x);
    case U_RECIPROCAL:
      return f32x4.div(one, x);
    case U_SCALE:
      return f32x4.mul(x, p);
    case U_ADD_SCALAR:
      return f32x4.add(x, p);
    case U_REVERSE_GRAD:
      return f32x4.mul(f32x4.neg(p), x);
    case U_CLAMP_MIN:
      return f32x4.max(x, p);
    case U_CLAMP_MAX:
      return f32x4.min(x, p);
  }
  return x;
}

/** out[i] = op(x[i], param) over elements [start, end) (the dense task's range). */
export function unaryRange(p: usize, start: i32, end: i32): void {
  const op = pi(p, EW_OP);
  const x = <usize> pi(p, EW_A);
  const out = <usize> pi(p, EW_OUT);
  const param = pf(p, EW_PARAM);
  let i = start;
  if (unaryHasVector(op)) {
    const pv = f32x4.splat(param);
    for (; i + 4 <= end; i += 4) {
      v128.store(out + (<usize> i << 2), unaryVector(op, v128.load(x + (<usize> i << 2)), pv));
    }
  }
  for (; i < end; i++) {
    store<f32>(out + (<usize> i << 2), unaryScalar(op, load<f32>(x + (<usize> i << 2)), param));
  }
}

function binaryScalar(op: i32, a: f32, b: f32): f32 {
  switch (op) {
    case B_ADD:
      return a + b;
    case B_SUB:
      return a - b;
    case B_MUL:
      return a * b;
    case B_DIV:
      return a / b;
    case B_MAXIMUM:
      return Mathf.max(a, b);
    case B_MINIMUM:
      return Mathf.min(a, b);
    case B_EQ:
      return a == b ? 1 : 0;
    case B_GT:
      return a > b ? 1 : 0;
    case B_GE:
      return a >= b ? 1 : 0;
    case B_RELU_GRAD:
      return b <= 0 ? 0 : a;
  }
  return 0;
}

function binaryVector(op: i32, a: v128, b: v128): v128 {
  const one = f32x4.splat(1);
  switch (op) {
    case B_ADD:
      return f32x4.add(a, b);
    case B_SUB:
      return f32x4.sub(a, b);
    case B_MUL:
      return f32x4.mul(a, b);
    case B_DIV:
      return f32x4.div(a, b);
    case B_MAXIMUM:
      return f32x4.max(a, b);
    case B_MINIMUM:
      return f32x4.min(a, b);
    case B_EQ:
      return v128.and(one, f32x4.eq(a, b));
    case B_GT:
      return v128.and(one, f32x4.gt(a, b));
    case B_GE:
      return v128.and(one, f32x4.ge(a, b));
    case B_RELU_GRAD:
      return v128.andnot(a, f32x4.le(b, f32x4.splat(0)));
  }
  return a;
}

/** One row of a binary op; strides 1 and 0 (broadcast) take the vector paths. */
function binaryRow(op: i32, a: usize, sa: i32, b: usize, sb: i32, out: usize, len: i32): void {
  let j = 0;
  if (sa == 1 && sb == 1) {
    for (; j + 4 <= len; j += 4) {
      const o = <usize> j << 2;
      v128.store(out + o, binaryVector(op, v128.load(a + o), v128.load(b + o)));
    }
  } else if (sa == 1 && sb == 0) {
    const vb = v128.load32_splat(b);
    for (; j + 4 <= len; j += 4) {
      const o = <usize> j << 2;
      v128.store(out + o, binaryVector(op, v128.load(a + o), vb));
    }
  } else if (sa == 0 && sb == 1) {
    const va = v128.load32_splat(a);
    for (; j + 4 <= len; j += 4) {
      const o = <usize> j << 2;
      v128.store(out + o, binaryVector(op, va, v128.load(b + o)));
    }
  }
  for (; j < len; j++) {
    const v = binaryScalar(op, load<f32>(at(a, j * sa)), load<f32>(at(b, j * sb)));
    store<f32>(out + (<usize> j << 2), v);
  }
}

/** out (dense, the views' shape) = op(a view, b view); rows are split over the threads. */
export function binary_task(p: usize, tid: i32, nt: i32): void {
  const op = pi(p, EW_OP);
  const a = <usize> pi(p, EW_A);
  const b = <usize> pi(p, EW_B);
  const out = <usize> pi(p, EW_OUT);
  const rank = pi(p, EW_RANK);
  const inner = pi(p, EW_SHAPE + rank - 1);
  const sa = pi(p, EW_ASTR + rank - 1);
  const sb = pi(p, EW_BSTR + rank - 1);
  const rows = outerRows(p, rank);
  const chunk = rowChunk(rows, inner, nt);
  const chunks = (inner + chunk - 1) / chunk;
  const items = rows * chunks;
  const per = grain(items, chunk, nt);
  for (let g = nextGroup(p, per); g < items; g = nextGroup(p, per)) {
    const end = imin(items, g + per);
    for (let item = g; item < end; item++) {
      const row = item / chunks;
      const j0 = (item - row * chunks) * chunk;
      const ao = pi(p, EW_AOFF) + rowOffset(p, row, rank, EW_ASTR) + j0 * sa;
      const bo = pi(p, EW_BOFF) + rowOffset(p, row, rank, EW_BSTR) + j0 * sb;
      const dst = out + ((<usize> row * <usize> inner + <usize> j0) << 2);
      binaryRow(op, at(a, ao), sa, at(b, bo), sb, dst, imin(chunk, inner - j0));
    }
  }
}

/** out = a x + b y over elements [start, end) (gradient accumulation's hot path). */
export function axpbyRange(p: usize, start: i32, end: i32): void {
  const x = <usize> pi(p, EW_A);
  const y = <usize> pi(p, EW_B);
  const out = <usize> pi(p, EW_OUT);
  const a = pf(p, EW_PARAM);
  const b = pf(p, EW_PARAM2);
  const av = f32x4.splat(a);
  const bv = f32x4.splat(b);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize> i << 2;
    v128.store(
      out + o,
      f32x4.add(f32x4.mul(av, v128.load(x + o)), f32x4.mul(bv, v128.load(y + o))),
    );
  }
  for (; i < end; i++) {
    const o = <usize> i << 2;
    store<f32>(out + o, a * load<f32>(x + o) + b * load<f32>(y + o));
  }
}

/** f32 -> i32 (truncating, saturating) when EW_FLAGS is 1, else i32 -> f32. */
export function castRange(p: usize, start: i32, end: i32): void {
  const x = <usize> pi(p, EW_A);
  const out = <usize> pi(p, EW_OUT);
  const toInt = pi(p, EW_FLAGS) == 1;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize> i << 2;
    const v = v128.load(x + o);
    v128.store(out + o, toInt ? i32x4.trunc_sat_f32x4_s(v) : f32x4.convert_i32x4_s(v));
  }
  for (; i < end; i++) {
    const o = <usize> i << 2;
    if (toInt) store<i32>(out + o, <i32> load<f32>(x + o));
    else store<f32>(out + o, <f32> load<i32>(x + o));
  }
}

/** Writes the 32-bit pattern in EW_PARAM (zeros and fills of either dtype). */
export function fillRange(p: usize, start: i32, end: i32): void {
  const out = <usize> pi(p, EW_OUT);
  const bits = pi(p, EW_PARAM);
  const v = i32x4.splat(bits);
  let i = start;
  for (; i + 4 <= end; i += 4) v128.store(out + (<usize> i << 2), v);
  for (; i < end; i++) store<i32>(out + (<usize> i << 2), bits);
}
