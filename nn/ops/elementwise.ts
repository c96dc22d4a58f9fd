/**
 * Element-wise ops. Each forward rule sits beside its backward rule; derived ops (sub of
 * scalars, clamp masks) take their gradients from the primitives they are built of.
 */

import type { BinaryOp, UnaryOp } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { full, Tensor } from "../tensor.ts";
import { broadcastAxes, broadcastShapes, broadcastView } from "./broadcast.ts";
import { reshape, sum } from "./sum-broadcast.ts";

function unaryRaw(op: UnaryOp, x: Tensor, p = 0): Tensor {
  if (x.dtype !== "f32") throw new Error(`${op} needs an f32 tensor, got ${x.dtype}`);
  return Tensor.fromStorage(x.backend, x.backend.unary(op, x.storage, p), x.shape);
}

type UnaryRule = (x: Tensor, y: Tensor, g: Tensor, p: number) => Tensor | null;

/** Backward rules of the unary family: d(loss)/dx from x, the output y and d(loss)/dy. */
const UNARY_RULES: Record<UnaryOp, UnaryRule> = {
  neg: (_x, _y, g) => neg(g),
  exp: (_x, y, g) => mul(g, y),
  log: (x, _y, g) => div(g, x),
  sqrt: (_x, y, g) => div(scale(g, 0.5), y),
  rsqrt: (_x, y, g) => mul(g, scale(mul(y, mul(y, y)), -0.5)),
  abs: (x, _y, g) => mul(g, unaryRaw("sign", x)),
  sign: () => null,
  relu: (x, _y, g) => binary("reluGrad", g, x),
  step: () => null,
  sigmoid: (_x, y, g) => mul(g, mul(y, addScalar(neg(y), 1))),
  tanh: (_x, y, g) => mul(g, addScalar(neg(mul(y, y)), 1)),
  silu: (x, _y, g) => {
    const s = unaryRaw("sigmoid", x);
    return mul(g, mul(s, addScalar(mul(x, addScalar(neg(s), 1)), 1)));
  },
  square: (x, _y, g) => mul(g, scale(x, 2)),
  reciprocal: (_x, y, g) => neg(mul(g, mul(y, y))),
  scale: (_x, _y, g, p) => scale(g, p),
  addScalar: (_x, _y, g) => g,
  powScalar: (x, _y, g, p) => mul(g, scale(unaryRaw("powScalar", x, p - 1), p)),
  reverseGrad: (_x, _y, g, p) => scale(g, -p),
  clampMin: (x, _y, g, p) => mul(g, binaryRaw("ge", x, full([], p, { backend: x.backend }))),
  clampMax: (x, _y, g, p) => mul(g, binaryRaw("ge", full([], p, { backend: x.backend }), x)),
};

export function unary(op: UnaryOp, x: Tensor, p = 0): Tensor {
  const y = unaryRaw(op, x, p);
  return record(y, [x], op, (g) => [UNARY_RULES[op](x, y, g, p)]);
}

export const neg = (x: Tensor) => unary("neg", x);
export const exp = (x: Tensor) => unary("exp", x);
export const log = (x: Tensor) => unary("log", x);
export const sqrt = (x: Tensor) => unary("sqrt", x);
export const rsqrt = (x: Tensor) => unary("rsqrt", x);
export const abs = (x: Tensor) => unary("abs", x);
export const sign = (x: Tensor) => unary("sign", x);
export const relu = (x: Tensor) => unary("relu", x);
export const sigmoid = (x: Tensor) => unary("sigmoid", x);
export const tanh = (x: Tensor) => unary("tanh", x);
export const silu = (x: Tensor) => unary("silu", x);
export const square = (x: Tensor) => unary("square", x);
export const reciprocal = (x: Tensor) => unary("reciprocal", x);
export const scale = (x: Tensor, factor: number) => unary("scale", x, factor);
export const addScalar = (x: Tensor, value: number) => unary("addScalar", x, value);
export const powScalar = (x: Tensor, exponent: number) => unary("powScalar", x, exponent);
export const clampMin = (x: Tensor, bound: number) => unary("clampMin", x, bound);
export const clampMax = (x: Tensor, bound: number) => unary("clampMax", x, bound);

/**
 * Gradient reversal (Ganin & Lempitsky): identity forward, `-scale * grad` backward. The study
 * used scale 0.1 between the encoder and the auxiliary head.
 */
export function gradReverse(x: Tensor, gradScale = 0.1): Tensor {
  const y = x.detach();
  return record(y, [x], "gradReverse", (g) => [unaryRaw("reverseGrad", g, gradScale)]);
}

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (a.backend !== b.backend) throw new Error(`${op}: tensors live on different backends`);
  if (a.dtype !== "f32" || b.dtype !== "f32") {
    throw new Error(`${op} needs f32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
  const shape = broadcastShapes(a.shape, b.shape);
  const storage = a.backend.binary(
    op,
    a.storage,
    broadcastView(a.shape, shape),
    b.storage,
    broadcastView(b.shape, shape),
  );
  return Tensor.fromStorage(a.backend, storage, shape);
}

/** Sums a broadcast gradient back to the shape of the input it came from. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return g;
  const axes = broadcastAxes(shape, g.shape);
  return reshape(sum(g, axes), shape);
}

type BinaryRule = (a: Tensor, b: Tensor, y: Tensor, g: Tensor) => [Tensor | null, Tensor | null];

const BINARY_RULES: Record<BinaryOp, BinaryRule> = {
  add: (_a, _b, _y, g) => [g, g],
  sub: (_a, _b, _y, g) => [g, neg(g)],
  mul: (a, b, _y, g) => [mul(g, b), mul(g, a)],
  div: (a, b, _y, g) => [div(g, b), neg(div(mul(g, a), mul(b, b)))],
  pow: (a, b, y, g) => [
    mul(g, mul(b, pow(a, addScalar(b, -1)))),
    mul(g, mul(y, log(a))),
  ],
  maximum: (a, b, _y, g) => {
    const mask = binaryRaw("ge", a, b);
    return [mul(g, mask), mul(g, addScalar(neg(mask), 1))];
  },
  minimum: (a, b, _y, g) => {
    const mask = binaryRaw("ge", b, a);
    return [mul(g, mask), mul(g, addScalar(neg(mask), 1))];
  },
  eq: () => [null, null],
  gt: () => [null, null],
  ge: () => [null, null],
  reluGrad: (_a, b, _y, g) => [binary("reluGrad", g, b), null],
};

export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const y = binaryRaw(op, a, b);
  return record(y, [a, b], op, (g) => {
    const [ga, gb] = BINARY_RULES[op](a, b, y, g);
    return [
      ga && a.requiresGrad ? sumTo(ga, a.shape) : null,
      gb && b.requiresGrad ? sumTo(gb, b.shape) : null,
    ];
  });
}

type Operand = Tensor | number;

function lift(value: Operand, like: Tensor): Tensor {
  return typeof value === "number" ? full([], value, { backend: like.backend }) : value;
}

export const add = (a: Tensor, b: Operand) =>
  typeof b === "number" ? addScalar(a, b) : binary("add", a, b);
export const sub = (a: Tensor, b: Operand) =>
  typeof b === "number" ? addScalar(a, -b) : binary("sub", a, b);
export const mul = (a: Tensor, b: Operand) =>
  typeof b === "number" ? scale(a, b) : binary("mul", a, b);
export const div = (a: Tensor, b: Operand) =>
  typeof b === "number" ? scale(a, 1 / b) : binary("div", a, b);
export const pow = (a: Tensor, b: Operand) =>
  typeof b === "number" ? powScalar(a, b) : binary("pow", a, b);
export const maximum = (a: Tensor, b: Operand) => binary("maximum", a, lift(b, a));
export const minimum = (a: Tensor, b: Operand) => binary("minimum", a, lift(b, a));
export const eq = (a: Tensor, b: Operand) => binary("eq", a, lift(b, a));
export const gt = (a: Tensor, b: Operand) => binary("gt", a, lift(b, a));
export const ge = (a: Tensor, b: Operand) => binary("ge", a, lift(b, a));

/**
 * Squeeze-excitation's gate: x * sigmoid(gate), one gate per leading index of x (for x
 * [N, C, H, W], gate [N, C] or [N, C, 1, 1]), fused into one kernel. Its input gradient is the
 * same gate applied to the incoming gradient; the gate's is sum over each plane of g * x, times
 * sigmoid'(gate).
 */
export function sigmoidGate(x: Tensor, gate: Tensor): Tensor {
  if (x.backend !== gate.backend) {
    throw new Error("sigmoidGate: tensors live on different backends");
  }
  if (x.dtype !== "f32" || gate.dtype !== "f32") {
    throw new Error(`sigmoidGate needs f32 tensors, got ${x.dtype} and ${gate.dtype}`);
  }
  let lead = gate.rank;
  while (lead > 0 && gate.shape[lead - 1] === 1) lead--;
  if (lead > x.rank || gate.shape.slice(0, lead).some((d, i) => d !== x.shape[i])) {
    throw new Error(`sigmoidGate: gate [${gate.shape}] does not lead x [${x.shape}]`);
  }
  const plane = x.shape.slice(lead).reduce((n, d) => n * d, 1);
  const storage = x.backend.sigmoidGate(x.storage, gate.storage, plane);
  const y = Tensor.fromStorage(x.backend, storage, x.shape);
  return record(y, [x, gate], "sigmoidGate", (g) => {
    const s = sigmoid(gate);
    const planes = [...Array(x.rank - lead).keys()].map((i) => i + lead);
    return [
      x.requiresGrad ? sigmoidGate(g, gate) : null,
      gate.requiresGrad
        ? mul(reshape(sum(mul(g, x), planes), gate.shape), mul(s, addScalar(neg(s), 1)))
        : null,
    ];
  });
}

/** Casts labels (i32) to f32 and back; not differentiable. */
export function cast(x: Tensor, dtype: "f32" | "i32"): Tensor {
  if (x.dtype === dtype) return x;
  return Tensor.fromStorage(x.backend, x.backend.cast(x.storage, dtype), x.shape);
}
