import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { batchNorm } from "../nn/ops/batchnorm.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertThrows } from "./support/assert.ts";
import { allBackends, comparedBackends, cpu } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec, randomValues } from "./support/gradcheck.ts";

interface BnStep {
  x: number[];
  gy: number[];
  y: number[];
  gx: number[];
  gGamma: number[];
  gBeta: number[];
}
interface BnFixture {
  trainShape: number[];
  evalShape: number[];
  gamma: number[];
  beta: number[];
  runningMean0: number[];
  runningVar0: number[];
  steps: BnStep[];
  runningMean: number[];
  runningVar: number[];
  eval: BnStep;
}

const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/norm_loss_optim.json", import.meta.url)),
) as { batchnorm2d: BnFixture; batchnorm1d: BnFixture };

/** Input specs: x, gamma, beta, then running mean/var (positive variance, no gradient). */
function specs(shape: number[], seed: number): InputSpec[] {
  const c = shape[1];
  return [
    { shape, values: randomValues(shape.reduce((a, b) => a * b, 1), seed, -2, 2.5) },
    { shape: [c], values: randomValues(c, seed + 1, 0.5, 1.5) },
    { shape: [c], values: randomValues(c, seed + 2, -0.5, 0.5) },
    { shape: [c], noGrad: true, values: randomValues(c, seed + 3, -0.3, 0.3) },
    { shape: [c], noGrad: true, values: randomValues(c, seed + 4, 0.5, 2) },
  ];
}

const train = (x: Tensor, g: Tensor, b: Tensor, m: Tensor, v: Tensor) =>
  batchNorm(x, g, b, m, v, { training: true });
const evaluate = (x: Tensor, g: Tensor, b: Tensor, m: Tensor, v: Tensor) =>
  batchNorm(x, g, b, m, v, { training: false });

Deno.test("batch norm: finite differences in training and evaluation (2d and 1d)", async () => {
  await gradCheck("batchNorm2d train", cpu, train, specs([2, 3, 3, 5], 11));
  await gradCheck("batchNorm2d eval", cpu, evaluate, specs([1, 3, 3, 5], 12));
  await gradCheck("batchNorm1d train", cpu, train, specs([5, 3], 13));
  await gradCheck("batchNorm1d eval", cpu, evaluate, specs([1, 4], 14));
});

Deno.test("batch norm: WASM (default and split) and WebGPU follow the reference on odd shapes and long channels", async () => {
  const fast = await comparedBackends();
  const cases: [string, number[], typeof train][] = [
    ["2d train [2,3,3,5]", [2, 3, 3, 5], train],
    ["2d eval batch 1 [1,3,5,7]", [1, 3, 5, 7], evaluate],
    ["1d train [5,3]", [5, 3], train],
    ["1d eval [1,3]", [1, 3], evaluate],
    ["3d train [3,2,7]", [3, 2, 7], train],
    // 1292 values per channel: every thread of the 256-wide reduction loops several times.
    ["2d train [4,3,17,19]", [4, 3, 17, 19], train],
  ];
  for (const [label, shape, fn] of cases) {
    await compareBackends(`batchNorm ${label}`, cpu, fast, fn, specs(shape, 21), {
      rtol: 2e-4,
      atol: 2e-5,
    });
  }
});

async function checkFixture(backend: Backend, name: string, fx: BnFixture): Promise<void> {
  const c = fx.trainShape[1];
  const opts = { backend };
  const runningMean = tensor(fx.runningMean0, [c], opts);
  const runningVar = tensor(fx.runningVar0, [c], opts);
  const gamma = tensor(fx.gamma, [c], { ...opts, requiresGrad: true });
  const beta = tensor(fx.beta, [c], { ...opts, requiresGrad: true });
  const tol = { rtol: 2e-4, atol: 2e-5 };
  const run = async (step: BnStep, shape: number[], training: boolean, label: string) => {
    const x = tensor(step.x, shape, { ...opts, requiresGrad: true });
    const y = tidy(() => {
      const y = batchNorm(x, gamma, beta, runningMean, runningVar, { training });
      backward(y, tensor(step.gy, shape, opts));
      return y;
    });
    const [yv, gx, gg, gb] = await backend.readMany(
      [y, x.grad!, gamma.grad!, beta.grad!].map((t) => t.storage),
    );
    const at = `${name} ${label} [${backend.name}]`;
    assertClose(yv, step.y, `${at} output`, tol);
    assertClose(gx, step.gx, `${at} grad x`, tol);
    assertClose(gg, step.gGamma, `${at} grad gamma`, tol);
    assertClose(gb, step.gBeta, `${at} grad beta`, tol);
    for (const t of [x, y, x.grad!, gamma.grad!, beta.grad!]) t.dispose();
    gamma.grad = null;
    beta.grad = null;
  };
  for (const [i, step] of fx.steps.entries()) await run(step, fx.trainShape, true, `step ${i + 1}`);
  assertClose(await runningMean.data(), fx.runningMean, `${name} running mean [${backend.name}]`);
  assertClose(await runningVar.data(), fx.runningVar, `${name} running var [${backend.name}]`);
  await run(fx.eval, fx.evalShape, false, "eval");
  for (const t of [runningMean, runningVar, gamma, beta]) t.dispose();
}

Deno.test("batch norm matches PyTorch 1.13: 3 training steps, running stats, eval", async () => {
  for (const backend of await allBackends()) {
    await checkFixture(backend, "batchnorm2d", fixture.batchnorm2d);
    await checkFixture(backend, "batchnorm1d", fixture.batchnorm1d);
  }
});

Deno.test("batch norm updates running statistics in place and checks its inputs", async () => {
  for (const backend of await allBackends()) {
    const opts = { backend };
    const mean = tensor([0, 0], [2], opts);
    const variance = tensor([1, 1], [2], opts);
    const gamma = tensor([1, 1], [2], opts);
    const beta = tensor([0, 0], [2], opts);
    const storage = mean.storage;
    // Channel 0 holds 1,3 (mean 2, unbiased var 2); channel 1 holds 5,5 (mean 5, var 0).
    const x = tensor([1, 5, 3, 5], [2, 2], opts);
    tidy(() => batchNorm(x, gamma, beta, mean, variance, { training: true, momentum: 0.5 }));
    if (mean.storage !== storage || mean.disposed) {
      throw new Error("running mean was not updated in place");
    }
    assertClose(await mean.data(), [1, 2.5], `running mean [${backend.name}]`);
    assertClose(await variance.data(), [1.5, 0.5], `running var [${backend.name}]`);
    assertThrows(
      () =>
        batchNorm(tensor([1, 2], [1, 2], opts), gamma, beta, mean, variance, { training: true }),
      /more than 1 value per channel/,
      "single value per channel in training",
    );
    assertThrows(
      () => batchNorm(x, tensor([1, 1, 1], [3], opts), beta, mean, variance, { training: false }),
      /gamma must be f32 \[2\]/,
      "wrong gamma length",
    );
    assertThrows(
      () => batchNorm(tensor([1, 2], [2], opts), gamma, beta, mean, variance, { training: false }),
      /expects \[N, C\]/,
      "rank-1 input",
    );
  }
});
