import type { BinaryOp, UnaryOp } from "../gpu/backend.ts";
import * as ew from "../nn/ops/elementwise.ts";
import { allBackends, comparedBackends, cpu } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec } from "./support/gradcheck.ts";

const positive = (shape: number[], seed: number): InputSpec => {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = 0.5 + ((i * 7919 + seed * 31) % 97) / 60;
  return { shape, values };
};

/** Inputs kept away from kinks (0 for relu/abs/sign) so finite differences are meaningful. */
const awayFromZero = (shape: number[], seed: number, shift = 0): InputSpec => {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = 0.2 + ((i * 7919 + seed * 31) % 89) / 60;
    values[i] = (i % 2 === 0 ? m : -m) + shift;
  }
  return { shape, values };
};

/**
 * Every unary op of gpu/elementwise-ops.ts (a new one is a compile error here until it has a
 * row): its input domain, its scalar, and whether finite differences apply (sign and step have no
 * gradient; reverseGrad's is the gradient reversal's, tested below).
 */
const UNARY_CASES: Record<UnaryOp, { positive?: boolean; param?: number; grad?: false }> = {
  neg: {},
  exp: {},
  log: { positive: true },
  sqrt: { positive: true },
  rsqrt: { positive: true },
  abs: {},
  sign: { grad: false },
  relu: {},
  step: { grad: false },
  sigmoid: {},
  tanh: {},
  silu: {},
  square: {},
  reciprocal: { positive: true },
  scale: { param: 2.5 },
  addScalar: { param: -0.75 },
  powScalar: { positive: true, param: 1.7 },
  reverseGrad: { param: 0.1, grad: false },
  clampMin: { param: 0.3083 },
  clampMax: { param: -0.3083 },
};

Deno.test("unary ops: finite differences and reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  for (const [op, c] of Object.entries(UNARY_CASES) as [UnaryOp, typeof UNARY_CASES.neg][]) {
    const shape = [3, 5, 7];
    const spec = c.positive ? positive(shape, 1) : awayFromZero(shape, 1);
    const fn = (x: ReturnType<typeof ew.exp>) => ew.unary(op, x, c.param ?? 0);
    if (c.grad !== false) {
      await gradCheck(`unary ${op}`, cpu, fn, [spec], {
        eps: op.startsWith("clamp") ? 3e-3 : 1e-2,
      });
    }
    await compareBackends(`unary ${op}`, cpu, fast, fn, [spec], { rtol: 2e-5 });
  }
});

/** Every binary op; comparisons have no gradient. */
const BINARY_CASES: Record<BinaryOp, { grad?: false }> = {
  add: {},
  sub: {},
  mul: {},
  div: {},
  pow: {},
  maximum: {},
  minimum: {},
  eq: { grad: false },
  gt: { grad: false },
  ge: { grad: false },
  reluGrad: {},
};

Deno.test("binary ops with broadcasting: finite differences and reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  const shapes: [number[], number[]][] = [
    [[2, 3, 5], [2, 3, 5]],
    [[2, 3, 5], [3, 1]],
    [[1, 4, 1, 3], [2, 1, 5, 1]],
    [[7], []],
  ];
  for (const [op, c] of Object.entries(BINARY_CASES) as [BinaryOp, { grad?: false }][]) {
    for (const [sa, sb] of shapes) {
      const a = op === "pow" ? positive(sa, 2) : awayFromZero(sa, 2);
      const b = op === "pow" || op === "div" ? positive(sb, 3) : awayFromZero(sb, 5, 0.0071);
      const fn = (x: ReturnType<typeof ew.exp>, y: ReturnType<typeof ew.exp>) =>
        ew.binary(op, x, y);
      if (c.grad !== false) {
        await gradCheck(`binary ${op} [${sa}]x[${sb}]`, cpu, fn, [a, b], {
          eps: op === "maximum" || op === "minimum" ? 3e-3 : 1e-2,
        });
      }
      await compareBackends(`binary ${op} [${sa}]x[${sb}]`, cpu, fast, fn, [a, b], { rtol: 2e-5 });
    }
  }
});

Deno.test("gradient reversal: identity forward, -scale x grad backward, every backend", async () => {
  for (const backend of await allBackends()) {
    await gradCheck("gradReverse(identity check)", backend, (x) => ew.scale(x, 1), [{
      shape: [4, 3],
    }]);
    const { tensor } = await import("../nn/tensor.ts");
    const { backward } = await import("../nn/autograd.ts");
    const { sum } = await import("../nn/ops/reduce.ts");
    const x = tensor([1, -2, 3], [3], { backend, requiresGrad: true });
    const y = ew.gradReverse(x, 0.1);
    const forward = await y.data();
    backward(sum(ew.mul(y, tensor([1, 2, 3], [3], { backend }))));
    const grad = await x.grad!.data();
    const expected = [-0.1, -0.2, -0.3];
    if (forward.join() !== "1,-2,3") throw new Error(`GRL forward ${forward} on ${backend.name}`);
    grad.forEach((g, i) => {
      if (Math.abs(g - expected[i]) > 1e-6) throw new Error(`GRL grad ${grad} on ${backend.name}`);
    });
  }
});
