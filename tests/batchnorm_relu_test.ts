import { backward } from "../nn/autograd.ts";
import { BatchNorm2d } from "../nn/layers/batchnorm.ts";
import { batchNorm, batchNormReLU } from "../nn/ops/batchnorm.ts";
import { add, relu } from "../nn/ops/elementwise.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertThrows } from "./support/assert.ts";
import { comparedBackends, cpu } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec, randomValues } from "./support/gradcheck.ts";

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** x, gamma, beta, running mean/var (no gradient), then the residual when asked. */
function specs(shape: number[], seed: number, residual: boolean): InputSpec[] {
  const c = shape[1];
  const base: InputSpec[] = [
    { shape, values: randomValues(count(shape), seed, -2, 2.5) },
    { shape: [c], values: randomValues(c, seed + 1, 0.5, 1.5) },
    { shape: [c], values: randomValues(c, seed + 2, -0.5, 0.5) },
    { shape: [c], noGrad: true, values: randomValues(c, seed + 3, -0.3, 0.3) },
    { shape: [c], noGrad: true, values: randomValues(c, seed + 4, 0.5, 2) },
  ];
  return residual
    ? [...base, { shape, values: randomValues(count(shape), seed + 5, -1, 1) }]
    : base;
}

type Inputs = [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor?];

const fused = (training: boolean) => (...[x, g, b, m, v, r]: Inputs) =>
  batchNormReLU(x, g, b, m, v, { training }, r);

const composed = (training: boolean) => (...[x, g, b, m, v, r]: Inputs) => {
  const y = batchNorm(x, g, b, m, v, { training });
  return relu(r ? add(y, r) : y);
};

Deno.test("batchNormReLU: finite differences with and without a residual, training and evaluation", async () => {
  // A small step, so no pre-activation of these fixed inputs crosses ReLU's kink.
  const near = { eps: 1e-3, atol: 3e-3 };
  await gradCheck("bnReLU train", cpu, fused(true), specs([2, 2, 2, 3], 31, false), near);
  await gradCheck("bnReLU eval", cpu, fused(false), specs([1, 2, 2, 3], 32, false), near);
  await gradCheck("bnReLU train + residual", cpu, fused(true), specs([2, 2, 3, 2], 33, true), near);
  await gradCheck("bnReLU eval + residual", cpu, fused(false), specs([1, 3, 2, 2], 34, true), near);
});

Deno.test("batchNormReLU equals relu(batchNorm(x) + residual): outputs, every gradient, running statistics", async () => {
  for (const residual of [false, true]) {
    for (const training of [true, false]) {
      const values = specs([3, 4, 5, 6], 41, residual).map((s) => s.values!);
      const run = async (fn: (...t: Inputs) => Tensor) => {
        const inputs = values.map((v, i) =>
          tensor(v, i === 0 ? [3, 4, 5, 6] : i === 5 ? [3, 4, 5, 6] : [4], {
            backend: cpu,
            requiresGrad: i < 3 || i === 5,
          })
        ) as unknown as Inputs;
        const gy = tensor(randomValues(360, 7, -1, 1), [3, 4, 5, 6], { backend: cpu });
        const y = tidy(() => {
          const y = fn(...inputs);
          backward(y, gy);
          return y;
        });
        const live = inputs.filter((t): t is Tensor => !!t);
        const out = [
          await y.data(),
          ...await Promise.all(live.map((t) => t.grad?.data() ?? t.data())),
        ];
        for (const t of [y, gy, ...live]) t.dispose();
        return out;
      };
      const a = await run(fused(training));
      const b = await run(composed(training));
      const names = [
        "output",
        "grad x",
        "grad gamma",
        "grad beta",
        "running mean",
        "running var",
        "grad residual",
      ];
      a.forEach((v, i) =>
        assertClose(v, b[i], `${names[i]} (residual ${residual}, training ${training})`, {
          rtol: 1e-5,
          atol: 1e-6,
        })
      );
    }
  }
});

Deno.test("batchNormReLU: WASM and WebGPU follow the reference", async () => {
  const fast = await comparedBackends();
  const cases: [string, number[], boolean, boolean][] = [
    ["train [2,3,3,5]", [2, 3, 3, 5], true, false],
    ["eval [1,3,5,7] + residual", [1, 3, 5, 7], false, true],
    ["train [4,3,17,19] + residual", [4, 3, 17, 19], true, true],
  ];
  for (const [label, shape, training, residual] of cases) {
    await compareBackends(
      `batchNormReLU ${label}`,
      cpu,
      fast,
      fused(training),
      specs(shape, 51, residual),
      {
        rtol: 2e-4,
        atol: 2e-5,
      },
    );
  }
});

Deno.test("batchNormReLU keeps no normalised tensor (nor sum) alive for the backward pass", () => {
  const shape = [2, 8, 16, 16];
  const bytes = count(shape) * 4;
  for (const residual of [false, true]) {
    const held = (fn: (...t: Inputs) => Tensor) =>
      tidy(() => {
        const layer = new BatchNorm2d(8, { backend: cpu }).train();
        const x = tensor(randomValues(count(shape), 3), shape, {
          backend: cpu,
          requiresGrad: true,
        });
        const r = residual
          ? tensor(randomValues(count(shape), 4), shape, { backend: cpu })
          : undefined;
        const before = cpu.memory().liveBytes;
        fn(x, layer.weight, layer.bias, layer.runningMean, layer.runningVar, r);
        return cpu.memory().liveBytes - before;
      });
    const saved = held(composed(true)) - held(fused(true));
    const expected = (residual ? 2 : 1) * bytes;
    if (saved !== expected) {
      throw new Error(`residual ${residual}: fused op saved ${saved} bytes, expected ${expected}`);
    }
  }
});

Deno.test("BatchNorm2d.forwardReLU checks its input and counts the batch", async () => {
  const layer = new BatchNorm2d(3, { backend: cpu }).train();
  assertThrows(
    () => layer.forwardReLU(tensor(new Float32Array(8), [2, 4, 1, 1], { backend: cpu })),
    /3 channels/,
    "wrong channel count",
  );
  const x = tensor(randomValues(24, 9), [2, 3, 2, 2], { backend: cpu });
  assertThrows(
    () => layer.forwardReLU(x, tensor(new Float32Array(12), [1, 3, 2, 2], { backend: cpu })),
    /must match the input/,
    "mis-shaped residual",
  );
  const y = layer.forwardReLU(x);
  if ((await y.data()).some((v) => v < 0)) throw new Error("forwardReLU gave a negative value");
  assertClose(await layer.numBatchesTracked.data(), [1], "num_batches_tracked");
});

Deno.test("batchNormReLU passes a NaN on to its element on every backend, as PyTorch's relu does", async () => {
  for (const backend of [cpu, ...await comparedBackends()]) {
    const x = tensor([1, Number.NaN, -3, 4, -5, 6, 7, -8], [1, 2, 2, 2], { backend });
    const g = tensor([1, 1], [2], { backend });
    const b = tensor([0, 0], [2], { backend });
    const m = tensor([0, 0], [2], { backend });
    const v = tensor([1, 1], [2], { backend });
    const r = tensor([0, 0, 0, 0, 0, 0, 0, Number.NaN], [1, 2, 2, 2], { backend });
    const y = await batchNormReLU(x, g, b, m, v, { training: false, eps: 0 }, r).data();
    const nan = [...y].map((e) => Number.isNaN(e));
    assertClose(nan.map(Number), [0, 1, 0, 0, 0, 0, 0, 1], `NaN places on ${backend.name}`);
    assertClose([y[0], y[2], y[3], y[4]], [1, 0, 4, 0], `values on ${backend.name}`);
  }
});
