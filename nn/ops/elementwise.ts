/**
 * Element-wise ops. Each forward rule sits beside its backward rule; derived ops (sub of
 * scalars, clamp masks) take their gradients from the primitives they are built of.
 */

import type { BinaryOp, UnaryOp } from "../../gpu/backend.ts";
import {
  buildProgram,
  type FusedProgram,
  type FusedValue,
  siluGrad,
} from "../../gpu/fused-elementwise.ts";
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
  sqrt: (_x, y, g) => fused([g, y], (g, y) => g.mul(0.5).div(y)),
  rsqrt: (_x, y, g) => fused([g, y], (g, y) => g.mul(y.mul(y.mul(y)).mul(-0.5))),
  abs: (x, _y, g) => fused([g, x], (g, x) => g.mul(x.unary("sign"))),
  sign: () => null,
  relu: (x, _y, g) => binary("reluGrad", g, x),
  step: () => null,
  sigmoid: (_x, y, g) => fused([g, y], (g, y) => g.mul(y.mul(y.neg().add(1)))),
  tanh: (_x, y, g) => fused([g, y], (g, y) => g.mul(y.mul(y).neg().add(1))),
  silu: (x, _y, g) => fused([g, x], siluGrad),
  square: (x, _y, g) => fused([g, x], (g, x) => g.mul(x.mul(2))),
  reciprocal: (_x, y, g) => fused([g, y], (g, y) => g.mul(y.mul(y)).neg()),
  scale: (_x, _y, g, p) => scale(g, p),
  addScalar: (_x, _y, g) => g,
  powScalar: (x, _y, g, p) => fused([g, x], (g, x) => g.mul(x.unary("powScalar", p - 1).mul(p))),
  reverseGrad: (_x, _y, g, p) => scale(g, -p),
  clampMin: (x, _y, g, p) => fused([g, x], (g, x) => g.mul(x.binary("ge", p))),
  clampMax: (x, _y, g, p) => fused([g, x], (g, x) => g.mul(x.constant(p).binary("ge", x))),
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
 * An element-wise chain as one op (gpu/fused-elementwise.ts): `build` combines the inputs, all of
 * one shape, with the rows' arithmetic, and WebGPU runs the chain in one pass instead of one per
 * step, with the chain's numbers. The backward rules above use it for their own chains. Its
 * gradient comes from the ops it is built of: the chain is replayed with the recorded ops and
 * each step's rule applied in reverse.
 */
export function fused(
  inputs: readonly Tensor[],
  build: (...values: FusedValue[]) => FusedValue,
): Tensor {
  const program = buildProgram(inputs.length, build);
  const first = inputs[0];
  for (const [k, t] of inputs.entries()) {
    if (t.backend !== first.backend) throw new Error(`fused: input ${k} lives on another backend`);
    if (t.dtype !== "f32") throw new Error(`fused: input ${k} is ${t.dtype}, not f32`);
    if (t.shape.join() !== first.shape.join()) {
      throw new Error(`fused: input ${k} has shape [${t.shape}], input 0 [${first.shape}]`);
    }
  }
  const storage = first.backend.fused(program, inputs.map((t) => t.storage));
  const y = Tensor.fromStorage(first.backend, storage, first.shape);
  return record(y, [...inputs], "fused", (g) => fusedBackward(program, inputs, g));
}

function fusedBackward(
  program: FusedProgram,
  inputs: readonly Tensor[],
  g: Tensor,
): (Tensor | null)[] {
  const { steps } = program;
  const values: Tensor[] = [];
  for (const s of steps) {
    if ("input" in s) values.push(inputs[s.input]);
    else if ("constant" in s) values.push(full([], s.constant, { backend: g.backend }));
    else if ("unary" in s) values.push(unary(s.unary, values[s.of], s.p));
    else values.push(binary(s.binary, values[s.a], values[s.b]));
  }
  const adjoint: (Tensor | null)[] = steps.map(() => null);
  const inputGrads: (Tensor | null)[] = inputs.map(() => null);
  const pass = (k: number, grad: Tensor | null) => {
    if (!grad || "constant" in steps[k]) return;
    const old = adjoint[k];
    adjoint[k] = old ? add(old, grad) : grad;
  };
  adjoint[steps.length - 1] = g;
  for (let j = steps.length - 1; j >= 0; j--) {
    const s = steps[j];
    const grad = adjoint[j];
    if (!grad) continue;
    if ("input" in s) {
      const old = inputGrads[s.input];
      inputGrads[s.input] = old ? add(old, grad) : grad;
    } else if ("unary" in s) {
      pass(s.of, UNARY_RULES[s.unary](values[s.of], values[j], grad, s.p));
    } else if ("binary" in s) {
      const [ga, gb] = BINARY_RULES[s.binary](values[s.a], values[s.b], values[j], grad);
      pass(s.a, ga);
      pass(s.b, gb);
    }
  }
  return inputGrads.map((grad, k) => (inputs[k].requiresGrad ? grad : null));
}

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
    const planes = [...Array(x.rank - lead).keys()].map((i) => i + lead);
    const gateGrad = () =>
      fused([reshape(sum(mul(g, x), planes), gate.shape), gate], (t, z) => {
        const s = z.unary("sigmoid");
        return t.mul(s.mul(s.neg().add(1)));
      });
    return [
      x.requiresGrad ? sigmoidGate(g, gate) : null,
      gate.requiresGrad ? gateGrad() : null,
    ];
  });
}

/** Casts labels (i32) to f32 and back; not differentiable. */
export function cast(x: Tensor, dtype: "f32" | "i32"): Tensor {
  if (x.dtype === dtype) return x;
  return Tensor.fromStorage(x.backend, x.backend.cast(x.storage, dtype), x.shape);
}
