/**
 * Every element-wise op, one row each: its reference rule (plain TypeScript, float64 then rounded
 * to f32), its WGSL expression (of `x` and the scalar `p`, or of `a` and `b`; helpers in
 * gpu/shaders/elementwise.wgsl) and, where the WASM kernels have it, its op code there
 * (gpu/wasm/kernels/elementwise.ts); without one the WASM backend computes it with the reference
 * rule. The rules match NaN included (PyTorch's: relu, clamps, maximum and minimum pass NaN on).
 * Adding an op here, and its gradient in nn/ops/elementwise.ts, is all it takes (gpu/README.md).
 */

import * as S from "./wasm/kernels/slots.ts";

/** One element-wise op: the rule on numbers, the same rule in WGSL, the WASM kernel's code. */
export interface ElementwiseRule<F> {
  readonly cpu: F;
  readonly wgsl: string;
  readonly wasm?: number;
}

const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Ops of one input; `p` is the scalar of scale, addScalar, powScalar, reverseGrad and clamps. */
export const UNARY_OPS = {
  neg: { cpu: (x) => -x, wgsl: "-x", wasm: S.U_NEG },
  exp: { cpu: (x) => Math.exp(x), wgsl: "exp(x)", wasm: S.U_EXP },
  log: { cpu: (x) => Math.log(x), wgsl: "log(x)", wasm: S.U_LOG },
  sqrt: { cpu: (x) => Math.sqrt(x), wgsl: "sqrt(x)", wasm: S.U_SQRT },
  rsqrt: { cpu: (x) => 1 / Math.sqrt(x), wgsl: "inverseSqrt(x)", wasm: S.U_RSQRT },
  abs: { cpu: (x) => Math.abs(x), wgsl: "abs(x)", wasm: S.U_ABS },
  sign: { cpu: (x) => Math.sign(x), wgsl: "signf(x)", wasm: S.U_SIGN },
  // `x <= 0 ? 0 : x` keeps NaN, as PyTorch's relu does (a NaN must reach the loss).
  relu: { cpu: (x) => (x <= 0 ? 0 : x), wgsl: "select(max(x, 0.0), x, isNanF(x))", wasm: S.U_RELU },
  step: { cpu: (x) => (x > 0 ? 1 : 0), wgsl: "select(0.0, 1.0, x > 0.0)", wasm: S.U_STEP },
  sigmoid: { cpu: sigmoid, wgsl: "sigmoidf(x)", wasm: S.U_SIGMOID },
  tanh: { cpu: (x) => Math.tanh(x), wgsl: "tanhf(x)", wasm: S.U_TANH },
  silu: { cpu: (x) => x * sigmoid(x), wgsl: "x * sigmoidf(x)", wasm: S.U_SILU },
  square: { cpu: (x) => x * x, wgsl: "x * x", wasm: S.U_SQUARE },
  reciprocal: { cpu: (x) => 1 / x, wgsl: "1.0 / x", wasm: S.U_RECIPROCAL },
  scale: { cpu: (x, p) => x * p, wgsl: "x * p", wasm: S.U_SCALE },
  addScalar: { cpu: (x, p) => x + p, wgsl: "x + p", wasm: S.U_ADD_SCALAR },
  // No WASM code: a table-free pow with all of Math.pow's special cases is not worth it.
  powScalar: { cpu: (x, p) => Math.pow(x, p), wgsl: "powf(x, p)" },
  reverseGrad: { cpu: (x, p) => -p * x, wgsl: "-p * x", wasm: S.U_REVERSE_GRAD },
  clampMin: { cpu: (x, p) => Math.max(x, p), wgsl: "maxNan(x, p)", wasm: S.U_CLAMP_MIN },
  clampMax: { cpu: (x, p) => Math.min(x, p), wgsl: "minNan(x, p)", wasm: S.U_CLAMP_MAX },
} satisfies Record<string, ElementwiseRule<(x: number, p: number) => number>>;

/** Ops of two inputs with NumPy broadcasting; comparisons give 1 or 0. */
export const BINARY_OPS = {
  add: { cpu: (a, b) => a + b, wgsl: "a + b", wasm: S.B_ADD },
  sub: { cpu: (a, b) => a - b, wgsl: "a - b", wasm: S.B_SUB },
  mul: { cpu: (a, b) => a * b, wgsl: "a * b", wasm: S.B_MUL },
  div: { cpu: (a, b) => a / b, wgsl: "a / b", wasm: S.B_DIV },
  pow: { cpu: (a, b) => Math.pow(a, b), wgsl: "powf(a, b)" },
  maximum: { cpu: (a, b) => Math.max(a, b), wgsl: "maxNan(a, b)", wasm: S.B_MAXIMUM },
  minimum: { cpu: (a, b) => Math.min(a, b), wgsl: "minNan(a, b)", wasm: S.B_MINIMUM },
  eq: { cpu: (a, b) => (a === b ? 1 : 0), wgsl: "select(0.0, 1.0, a == b)", wasm: S.B_EQ },
  gt: { cpu: (a, b) => (a > b ? 1 : 0), wgsl: "select(0.0, 1.0, a > b)", wasm: S.B_GT },
  ge: { cpu: (a, b) => (a >= b ? 1 : 0), wgsl: "select(0.0, 1.0, a >= b)", wasm: S.B_GE },
  /** ReLU's backward (gradient a, input b): 0 where b <= 0, else a (a NaN b passes a, as torch). */
  reluGrad: {
    cpu: (a, b) => (b <= 0 ? 0 : a),
    wgsl: "select(0.0, a, b > 0.0 || isNanF(b))",
    wasm: S.B_RELU_GRAD,
  },
} satisfies Record<string, ElementwiseRule<(a: number, b: number) => number>>;

export type UnaryOp = keyof typeof UNARY_OPS;
export type BinaryOp = keyof typeof BINARY_OPS;

/** The op code of an element-wise rule in the WASM kernels, or undefined for the reference. */
export function wasmCode(rule: ElementwiseRule<unknown>): number | undefined {
  return rule.wasm;
}
