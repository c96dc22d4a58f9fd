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

const UNARY_INPUT: Partial<Record<UnaryOp, "positive">> = {
  log: "positive",
  sqrt: "positive",
  rsqrt: "positive",
  powScalar: "positive",
  reciprocal: "positive",
};
const PARAM: Partial<Record<UnaryOp, number>> = {
  scale: 2.5,
  addScalar: -0.75,
  powScalar: 1.7,
  reverseGrad: 0.1,
  clampMin: 0.3083,
  clampMax: -0.3083,
};
const UNARY_OPS: UnaryOp[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "abs",
  "relu",
  "sigmoid",
  "tanh",
  "silu",
  "square",
  "reciprocal",
  "scale",
  "addScalar",
  "powScalar",
  "clampMin",
  "clampMax",
];

Deno.test("unary ops: finite differences and reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  for (const op of UNARY_OPS) {
    const shape = [3, 5, 7];
    const spec = UNARY_INPUT[op] === "positive" ? positive(shape, 1) : awayFromZero(shape, 1);
    const fn = (x: ReturnType<typeof ew.exp>) => ew.unary(op, x, PARAM[op] ?? 0);
    await gradCheck(`unary ${op}`, cpu, fn, [spec], { eps: op.startsWith("clamp") ? 3e-3 : 1e-2 });
    await compareBackends(`unary ${op}`, cpu, fast, fn, [spec], { rtol: 2e-5 });
  }
});

const BINARY_OPS: BinaryOp[] = [
  "add",
  "sub",
  "mul",
  "div",
  "pow",
  "maximum",
  "minimum",
  "reluGrad",
];

Deno.test("binary ops with broadcasting: finite differences and reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  const shapes: [number[], number[]][] = [
    [[2, 3, 5], [2, 3, 5]],
    [[2, 3, 5], [3, 1]],
    [[1, 4, 1, 3], [2, 1, 5, 1]],
    [[7], []],
  ];
  for (const op of BINARY_OPS) {
    for (const [sa, sb] of shapes) {
      const a = op === "pow" ? positive(sa, 2) : awayFromZero(sa, 2);
      const b = op === "pow" || op === "div" ? positive(sb, 3) : awayFromZero(sb, 5, 0.0071);
      const fn = (x: ReturnType<typeof ew.exp>, y: ReturnType<typeof ew.exp>) =>
        ew.binary(op, x, y);
      await gradCheck(`binary ${op} [${sa}]x[${sb}]`, cpu, fn, [a, b], {
        eps: op === "maximum" || op === "minimum" ? 3e-3 : 1e-2,
      });
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
