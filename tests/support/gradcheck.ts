/**
 * Finite-difference gradient checks and reference-vs-accelerated comparisons, the two proofs every
 * op gets.
 * Inputs are plain arrays so one description runs on any backend.
 */

import type { Backend } from "../../gpu/backend.ts";
import { backward } from "../../nn/autograd.ts";
import { tidy } from "../../nn/scope.ts";
import { Tensor, tensor } from "../../nn/tensor.ts";
import { mul } from "../../nn/ops/elementwise.ts";
import { sum } from "../../nn/ops/reduce.ts";
import { uniformAt } from "../../gpu/random-hash.ts";
import { assertClose, type Tolerance } from "./assert.ts";

export interface InputSpec {
  shape: number[];
  values?: Float32Array | Int32Array;
  /** Integer inputs (labels) get no gradient. */
  int?: boolean;
  /** Leave out of the gradient check (e.g. running statistics). */
  noGrad?: boolean;
}

/** Deterministic values in [lo, hi) for a test input. */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * uniformAt(i, seed);
  return out;
}

function materialise(specs: InputSpec[], seed: number): (Float32Array | Int32Array)[] {
  return specs.map((s, i) =>
    s.values ?? randomValues(s.shape.reduce((a, b) => a * b, 1), seed * 101 + i)
  );
}

function build(backend: Backend, specs: InputSpec[], values: (Float32Array | Int32Array)[]) {
  return specs.map((s, i) =>
    tensor(values[i], s.shape, { backend, requiresGrad: !s.int && !s.noGrad })
  );
}

/** Weighted sum of the outputs, so every output element's gradient is exercised. */
function objective(out: Tensor, seed: number): Tensor {
  const weights = tensor(randomValues(out.size, seed + 7, 0.5, 1.5), out.shape, {
    backend: out.backend,
  });
  return sum(mul(out, weights));
}

async function lossAt(
  backend: Backend,
  fn: (...x: Tensor[]) => Tensor,
  specs: InputSpec[],
  values: (Float32Array | Int32Array)[],
  seed: number,
): Promise<number> {
  const loss = tidy(() => objective(fn(...build(backend, specs, values)), seed));
  const v = await loss.item();
  loss.dispose();
  return v;
}

/** Analytic gradients (backend) against central differences on the CPU in float64 steps. */
export async function gradCheck(
  label: string,
  backend: Backend,
  fn: (...x: Tensor[]) => Tensor,
  specs: InputSpec[],
  { eps = 1e-2, rtol = 3e-2, atol = 2e-3, seed = 1 }: Tolerance & { eps?: number; seed?: number } =
    {},
): Promise<void> {
  const values = materialise(specs, seed);
  const inputs = build(backend, specs, values);
  const grads = tidy(() => {
    const loss = objective(fn(...inputs), seed);
    backward(loss);
    return inputs.map((t) => t.grad);
  });
  for (let i = 0; i < specs.length; i++) {
    if (specs[i].int || specs[i].noGrad) continue;
    const analytic = grads[i] ? await grads[i]!.data() : new Float32Array(values[i].length);
    const numeric = new Float32Array(values[i].length);
    for (let k = 0; k < values[i].length; k++) {
      const plus = values.map((v) => v.slice());
      const minus = values.map((v) => v.slice());
      plus[i][k] += eps;
      minus[i][k] -= eps;
      numeric[k] = (await lossAt(backend, fn, specs, plus, seed) -
        await lossAt(backend, fn, specs, minus, seed)) / (2 * eps);
    }
    assertClose(analytic, numeric, `${label} [${backend.name}] d/d input ${i}`, { rtol, atol });
  }
  for (const t of inputs) {
    t.grad?.dispose();
    t.dispose();
  }
}

/**
 * Runs `fn` on the reference and on each other backend from the same inputs; every output and
 * input gradient must agree with the reference's. The reference runs once for all of them.
 */
export async function compareBackends(
  label: string,
  reference: Backend,
  others: Backend | Backend[],
  fn: (...x: Tensor[]) => Tensor,
  specs: InputSpec[],
  { rtol = 1e-4, atol = 1e-5, seed = 2 }: Tolerance & { seed?: number } = {},
): Promise<void> {
  const values = materialise(specs, seed);
  const run = async (backend: Backend) => {
    const inputs = build(backend, specs, values);
    const { out, grads } = tidy(() => {
      const out = fn(...inputs);
      if (out.requiresGrad) backward(objective(out, seed));
      return { out, grads: inputs.map((t) => t.grad) };
    });
    const result = {
      out: await out.data(),
      grads: await Promise.all(grads.map((g) => g?.data() ?? null)),
    };
    out.dispose();
    for (const t of inputs) {
      t.grad?.dispose();
      t.dispose();
    }
    return result;
  };
  const a = await run(reference);
  for (const other of Array.isArray(others) ? others : [others]) {
    const b = await run(other);
    const at = `${label}: ${other.description} vs ${reference.name}`;
    assertClose(b.out, a.out, `${at} output`, { rtol, atol });
    a.grads.forEach((g, i) => {
      if (g && !b.grads[i]) throw new Error(`${at}: no gradient for input ${i}`);
      if (g) assertClose(b.grads[i]!, g, `${at} grad ${i}`, { rtol, atol });
    });
  }
}
