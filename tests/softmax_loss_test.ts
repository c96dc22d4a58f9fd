import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { bceWithLogits, crossEntropy, oneHot, type Reduction } from "../nn/ops/loss.ts";
import { logSoftmax, softmax } from "../nn/ops/softmax.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertThrows } from "./support/assert.ts";
import { allBackends, comparedBackends, cpu, gpuOrNull, wasmBackend } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec, randomValues } from "./support/gradcheck.ts";

interface CeFixture {
  rows: number;
  cols: number;
  logits: number[];
  labels: number[];
  weight: number[] | null;
  ignoreIndex: number;
  mean: number[];
  sum: number[];
  none: number[];
  gradMean: number[];
}
interface BceFixture {
  shape: number[];
  logits: number[];
  targets: number[];
  posWeight: number[];
  gradMean: number[];
  posWeight_gradSum: number[];
  [key: string]: number[];
}
const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/norm_loss_optim.json", import.meta.url)),
) as { crossEntropy: CeFixture[]; bce: BceFixture };

const logitsSpec = (shape: number[], seed: number, scale = 3): InputSpec => ({
  shape,
  values: randomValues(shape.reduce((a, b) => a * b, 1), seed, -scale, scale),
});
const labelsSpec = (labels: number[]): InputSpec => ({
  shape: [labels.length],
  int: true,
  values: Int32Array.from(labels),
});
const softTargets = (shape: number[], seed: number): InputSpec => ({
  shape,
  noGrad: true,
  values: randomValues(shape.reduce((a, b) => a * b, 1), seed, 0, 1),
});

Deno.test("softmax and log-softmax: finite differences on every axis", async () => {
  for (const axis of [-1, 1, 0]) {
    const spec = [logitsSpec([2, 3, 4], 3 + axis)];
    await gradCheck(`softmax axis ${axis}`, cpu, (x) => softmax(x, axis), spec);
    await gradCheck(`logSoftmax axis ${axis}`, cpu, (x) => logSoftmax(x, axis), spec);
  }
});

Deno.test("softmax and log-softmax: reference vs WASM (default and split) and WebGPU on narrow, wide and permuted rows", async () => {
  const fast = await comparedBackends();
  const cases: [number[], number][] = [[[3, 7], -1], [[5, 300], -1], [[2, 129], 1], [[4, 3, 5], 0]];
  for (const [shape, axis] of cases) {
    for (const [name, fn] of [["softmax", softmax], ["logSoftmax", logSoftmax]] as const) {
      await compareBackends(`${name} [${shape}] axis ${axis}`, cpu, fast, (x) => fn(x, axis), [
        logitsSpec(shape, 9, 20),
      ], { rtol: 1e-4, atol: 1e-5 });
    }
  }
});

Deno.test("softmax is max-subtracted: huge logits give finite rows summing to one", async () => {
  for (const backend of await allBackends()) {
    for (const cols of [3, 200]) {
      const values = Array.from(
        { length: 2 * cols },
        (_, i) => 1000 + (i % cols) - (i >= cols ? 2000 : 0),
      );
      const x = tensor(values, [2, cols], { backend });
      const p = await softmax(x).data();
      const lp = await logSoftmax(x).data();
      for (let r = 0; r < 2; r++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += p[r * cols + j];
        assertClose([s], [1], `softmax row ${r} sum, ${cols} cols [${backend.name}]`);
        // The largest logit of each row is last: its log-probability is -log(sum_k e^(k - last)).
        const expected = -Math.log(
          Array.from({ length: cols }, (_, k) => Math.exp(k - cols + 1))
            .reduce((a, b) => a + b),
        );
        assertClose([lp[r * cols + cols - 1]], [expected], `logSoftmax row ${r} [${backend.name}]`);
      }
    }
  }
});

const bceCases: [string, Reduction, boolean][] = [
  ["mean", "mean", false],
  ["sum", "sum", false],
  ["none", "none", false],
  ["posWeight mean", "mean", true],
  ["posWeight none", "none", true],
];

function bceFn(reduction: Reduction, withPosWeight: boolean) {
  return (x: Tensor, t: Tensor, pw: Tensor) =>
    bceWithLogits(x, t, { reduction, posWeight: withPosWeight ? pw : undefined });
}

Deno.test("BCE with logits: finite differences and reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  const specs: InputSpec[] = [
    logitsSpec([5, 3], 4, 6),
    softTargets([5, 3], 5),
    { shape: [3], noGrad: true, values: Float32Array.from([0.5, 2, 3.5]) },
  ];
  for (const [label, reduction, pw] of bceCases) {
    await gradCheck(`bce ${label}`, cpu, bceFn(reduction, pw), specs);
    await compareBackends(`bce ${label}`, cpu, fast, bceFn(reduction, pw), specs);
  }
  // Targets get a gradient too (-x per element), as in PyTorch.
  await gradCheck("bce d/d targets", cpu, (t, x) => bceWithLogits(x, t, { reduction: "sum" }), [
    { shape: [4], values: Float32Array.from([0.1, 0.4, 0.6, 0.9]) },
    { shape: [4], noGrad: true, values: Float32Array.from([-2, -0.5, 0.5, 3]) },
  ]);
});

const ceLabels = [2, 0, -100, 4, 1, 4, 3];
function ceFn(reduction: Reduction, ignoreIndex = -100, weighted = true) {
  return (x: Tensor, y: Tensor, w: Tensor) =>
    crossEntropy(x, y, { weight: weighted ? w : undefined, ignoreIndex, reduction });
}

Deno.test("cross-entropy with class weights and ignore index: gradients, reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  const weights: InputSpec = { shape: [5], noGrad: true, values: randomValues(5, 8, 0.2, 2) };
  const cases: [string, InputSpec, ReturnType<typeof ceFn>][] = [
    ["weighted mean", labelsSpec(ceLabels), ceFn("mean")],
    ["weighted sum", labelsSpec(ceLabels), ceFn("sum")],
    ["weighted none", labelsSpec(ceLabels), ceFn("none")],
    ["unweighted mean", labelsSpec(ceLabels), ceFn("mean", -100, false)],
    ["ignoreIndex 4", labelsSpec([2, 0, 4, 4, 1, 3, 3]), ceFn("mean", 4)],
  ];
  for (const [label, labels, fn] of cases) {
    const specs = [logitsSpec([7, 5], 6), labels, weights];
    await gradCheck(`crossEntropy ${label}`, cpu, fn, specs);
    await compareBackends(`crossEntropy ${label}`, cpu, fast, fn, specs);
  }
  // 300 rows: several workgroups of the per-row kernels, uneven slices of the WASM threads.
  const labels = Array.from({ length: 300 }, (_, i) => (i * 7) % 11 === 10 ? -100 : (i * 7) % 11);
  await compareBackends("crossEntropy 300x10", cpu, fast, ceFn("mean"), [
    logitsSpec([300, 10], 7),
    labelsSpec(labels),
    { shape: [10], noGrad: true, values: randomValues(10, 3, 0.2, 2) },
  ]);
});

async function checkCe(backend: Backend, fx: CeFixture, i: number): Promise<void> {
  const opts = { backend };
  const at = `crossEntropy fixture ${i} [${backend.name}]`;
  const logits = tensor(fx.logits, [fx.rows, fx.cols], { ...opts, requiresGrad: true });
  const labels = tensor(Int32Array.from(fx.labels), [fx.rows], opts);
  const weight = fx.weight ? tensor(fx.weight, [fx.cols], opts) : undefined;
  for (const reduction of ["mean", "sum", "none"] as const) {
    const loss = crossEntropy(logits, labels, { weight, ignoreIndex: fx.ignoreIndex, reduction });
    assertClose(await loss.data(), fx[reduction], `${at} ${reduction}`);
  }
  tidy(() => backward(crossEntropy(logits, labels, { weight, ignoreIndex: fx.ignoreIndex })));
  assertClose(await logits.grad!.data(), fx.gradMean, `${at} gradient of the mean`);
}

async function checkBce(backend: Backend, fx: BceFixture): Promise<void> {
  const opts = { backend };
  const at = `bce fixture [${backend.name}]`;
  const logits = tensor(fx.logits, fx.shape, { ...opts, requiresGrad: true });
  const targets = tensor(fx.targets, fx.shape, opts);
  const posWeight = tensor(fx.posWeight, [fx.shape[1]], opts);
  for (const reduction of ["mean", "sum", "none"] as const) {
    const plain = bceWithLogits(logits, targets, { reduction });
    assertClose(await plain.data(), fx[reduction], `${at} ${reduction}`);
    const weighted = bceWithLogits(logits, targets, { reduction, posWeight });
    assertClose(
      await weighted.data(),
      fx[`posWeight_${reduction}`],
      `${at} posWeight ${reduction}`,
    );
  }
  tidy(() => backward(bceWithLogits(logits, targets)));
  assertClose(await logits.grad!.data(), fx.gradMean, `${at} gradient of the mean`);
  logits.grad = null;
  tidy(() => backward(bceWithLogits(logits, targets, { reduction: "sum", posWeight })));
  assertClose(await logits.grad!.data(), fx.posWeight_gradSum, `${at} posWeight gradient`);
}

Deno.test("cross-entropy and BCE-with-logits match PyTorch 1.13 on every backend", async () => {
  for (const backend of await allBackends()) {
    for (const [i, fx] of fixture.crossEntropy.entries()) await checkCe(backend, fx, i);
    await checkBce(backend, fixture.bce);
  }
});

Deno.test("oneHot, and out-of-range labels: error on the CPU backends, NaN on the GPU", async () => {
  for (const backend of await allBackends()) {
    const labels = tensor(Int32Array.from([2, 0, 1, 2]), [2, 2], { backend });
    const h = oneHot(labels, 3);
    if (h.shape.join() !== "2,2,3") throw new Error(`oneHot shape [${h.shape}]`);
    assertClose(await h.data(), [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], `oneHot [${backend.name}]`);
  }
  for (const backend of [cpu, await wasmBackend()]) {
    const at = `[${backend.name}]`;
    const logits = tensor(randomValues(6, 1), [2, 3], { backend });
    const bad = tensor(Int32Array.from([1, 3]), [2], { backend });
    assertThrows(
      () => crossEntropy(logits, bad),
      /label 3 at row 1 is outside the 3 classes/,
      `CE ${at}`,
    );
    assertThrows(() => oneHot(bad, 3), /label 3 at position 1 is outside \[0, 3\)/, `oneHot ${at}`);
    assertThrows(
      () => crossEntropy(logits, tensor([1, 2], [2], { backend })),
      /needs i32 labels \[2\], got f32/,
      `f32 labels ${at}`,
    );
  }
  const gpu = await gpuOrNull();
  if (!gpu) return;
  const x = tensor(randomValues(6, 1), [2, 3], { backend: gpu });
  const y = tensor(Int32Array.from([1, 3]), [2], { backend: gpu });
  const rows = await crossEntropy(x, y, { reduction: "none" }).data();
  if (!(Number.isFinite(rows[0]) && Number.isNaN(rows[1]))) {
    throw new Error(`GPU cross-entropy with a bad label gave ${rows}`);
  }
  const mean = await crossEntropy(x, y).item();
  if (!Number.isNaN(mean)) throw new Error(`GPU mean cross-entropy with a bad label gave ${mean}`);
  const h = await oneHot(y, 3).data();
  if (h[1] !== 1 || !h.slice(3).every(Number.isNaN)) throw new Error(`GPU oneHot gave ${h}`);
});
