import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { Conv2d } from "../nn/layers/conv.ts";
import { Linear } from "../nn/layers/linear.ts";
import { Layer } from "../nn/module.ts";
import { add } from "../nn/ops/elementwise.ts";
import { flatten } from "../nn/ops/layout.ts";
import { manualSeed } from "../nn/random.ts";
import { tidy } from "../nn/scope.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { Batch } from "../data/batch.ts";
import { type DebiasOptions, type DebiasSettings, resolveDebias } from "../debias/config.ts";
import {
  AuxiliaryHead,
  type BiasHead,
  buildBiasHeads,
  MainHead,
  mainLoss,
} from "../debias/heads.ts";
import { auxiliaryLoss, inverseFrequencyWeights, tabeConfusionLoss } from "../debias/losses.ts";
import { makeDebiasStep, type StepLosses, uploadBatch } from "../debias/train-step.ts";
import { allBackends, cpu } from "./support/backends.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { batch, FEAT, RecordingEncoder } from "./support/debias-net.ts";

interface Setup {
  encoder: RecordingEncoder;
  main: Layer;
  heads: BiasHead[];
  settings: DebiasSettings;
  backend: Backend;
}

/** A tiny network; `plainMain` swaps the dropout head for a bare linear layer (deterministic). */
function setup(
  backend: Backend,
  o: DebiasOptions,
  plainMain = false,
  seed = 3,
  deep = false,
): Setup {
  manualSeed(seed);
  const settings = resolveDebias(o);
  const encoder = new RecordingEncoder(backend);
  const main = plainMain ? new Linear(FEAT, 1, { backend }) : new MainHead(FEAT, 1, { backend });
  const heads = buildBiasHeads(settings.heads, {
    kind: deep ? "deep" : "linear",
    inFeatures: FEAT,
    trainBias: batch().bias,
    backend,
  });
  return { encoder, main, heads, settings, backend };
}

function runStep(s: Setup, stepSeed = 11): StepLosses {
  const { step } = makeDebiasStep(
    { encoder: s.encoder, main: s.main, heads: s.heads },
    s.settings,
  );
  const device = uploadBatch(batch(), s.heads, s.backend);
  manualSeed(stepSeed);
  return step(device);
}

const read = (ts: readonly Tensor[]) =>
  Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
const encoderParams = (s: Setup) => s.encoder.parameters();

Deno.test("GRL flips and scales (x0.1) the gradient reaching the encoder", async () => {
  for (const config of ["LNTL", "TABE"] as const) {
    const plain = setup(cpu, { debiasConfig: config, lrBase: 0.01, lrClass: 0.01 });
    runStep(plain);
    const reversed = setup(cpu, { debiasConfig: config, GRL: true, lrBase: 0.01, lrClass: 0.01 });
    runStep(reversed);
    const g0 = await read(encoderParams(plain).map((p) => p.grad!));
    const g1 = await read(encoderParams(reversed).map((p) => p.grad!));
    g0.forEach((g, i) => {
      if (!g.some((v) => Math.abs(v) > 1e-6)) throw new Error(`${config}: zero encoder grad ${i}`);
      assertClose(g1[i], g.map((v) => -0.1 * v), `${config} encoder grad ${i} with GRL`);
    });
    // The bias head's own gradient is not reversed.
    const h0 = await read(plain.heads[0].module.parameters().map((p) => p.grad!));
    const h1 = await read(reversed.heads[0].module.parameters().map((p) => p.grad!));
    h0.forEach((g, i) => assertClose(h1[i], g, `${config} head grad ${i}`));
  }
});

Deno.test("phase 1 leaves the aux heads alone; phase 2 steps them with phase-2 gradients only", async () => {
  for (const config of ["LNTL", "TABE"] as const) {
    const lr = config === "LNTL" ? 0.05 : 0.2;
    const s = setup(cpu, { debiasConfig: config, GRL: true, lrBase: 0.05, lrClass: 0.2 });
    const head = s.heads[0].module as AuxiliaryHead;
    const before = await head.stateDictHost();
    const p0 = await read(head.parameters());
    runStep(s);
    assertEqual(s.encoder.outputs.length, 2, "two encoder forwards");
    // The gradient the head should get in phase 2 alone: its loss on the phase-2 features.
    const fresh = new AuxiliaryHead(FEAT, 2, { backend: cpu });
    fresh.loadStateDict(before);
    const device = uploadBatch(batch(), s.heads, cpu);
    tidy(() =>
      backward(
        auxiliaryLoss(fresh.forward(s.encoder.outputs[1]), device.bias[0], s.heads[0].weights),
      )
    );
    const want = await read(fresh.parameters().map((p) => p.grad!));
    const got = await read(head.parameters().map((p) => p.grad!));
    const p1 = await read(head.parameters());
    want.forEach((g, i) => {
      assertClose(got[i], g, `${config} head grad ${i} is phase 2's`);
      // First SGD step: the momentum buffer is the gradient, so p1 = p0 - lr g2 exactly.
      assertClose(p1[i], p0[i].map((v, k) => v - lr * g[k]), `${config} head param ${i}`);
    });
  }
});

Deno.test("phase 2: no gradient reaches the main head, but momentum moves it when asked", async () => {
  const deltas: Float32Array[][] = [];
  const encoderAfter: Float32Array[][] = [];
  for (const on of [true, false]) {
    const s = setup(cpu, {
      debiasConfig: "LNTL",
      GRL: true,
      lrBase: 0.1,
      momentumOnZeroedGrads: on,
    });
    const p0 = await read(s.main.parameters());
    runStep(s);
    const grads = s.main.parameters().map((p) => p.grad);
    if (on) {
      for (const g of await read(grads.map((g) => g!))) assertClose(g, g.map(() => 0), "zero grad");
    } else if (grads.some((g) => g !== null)) throw new Error("main head got a phase-2 gradient");
    const p1 = await read(s.main.parameters());
    deltas.push(p1.map((p, i) => p.map((v, k) => v - p0[i][k])));
    encoderAfter.push(await read(encoderParams(s)));
  }
  // Phase 1 moved the head by -lr g1; the zero-gradient phase-2 step adds momentum 0.9 of that.
  deltas[0].forEach((d, i) => {
    if (!deltas[1][i].some((v) => Math.abs(v) > 1e-6)) throw new Error("main head did not move");
    assertClose(d, deltas[1][i].map((v) => 1.9 * v), `main head delta ${i} (on = 1.9 x off)`);
  });
  encoderAfter[0].forEach((p, i) => assertClose(p, encoderAfter[1][i], `encoder ${i} unaffected`));
});

Deno.test("TABE's boosted optimiser moves the encoder by lr-base + lr-class in phase 1", async () => {
  const a = 0.05;
  const c = 0.3;
  const s = setup(
    cpu,
    { debiasConfig: "TABE", lrBase: a, lrClass: c, confusionTarget: "uniform-target" },
    true,
  );
  const params = encoderParams(s);
  const p0 = await read(params);
  // Phase 1's encoder gradient, computed on the same (deterministic) network beforehand.
  const device = uploadBatch(batch(), s.heads, cpu);
  tidy(() => {
    const feat = s.encoder.forward(device.images);
    const main = mainLoss(s.main.forward(feat), device.target, device.labels);
    backward(add(main, tabeConfusionLoss(s.heads[0].module.forward(feat), 0.03, "uniform-target")));
  });
  const g1 = await read(params.map((p) => p.grad!));
  for (const m of [s.encoder, s.main, s.heads[0].module]) m.zeroGrad();
  s.encoder.outputs.length = 0;
  runStep(s);
  const g2 = await read(params.map((p) => p.grad!));
  const p1 = await read(params);
  // main: -a g1 (phase 1), -a (0.9 g1 + g2) (phase 2, momentum); confusion: -c g1 (phase 1 only).
  p0.forEach((p, i) => {
    const want = p.map((v, k) => v - (a + c + 0.9 * a) * g1[i][k] - a * g2[i][k]);
    assertClose(p1[i], want, `encoder param ${i}`, { rtol: 1e-4, atol: 1e-6 });
  });
});

Deno.test("--switch-heads swaps the labels (and class weights) each head sees", async () => {
  const b = batch();
  for (const switchHeads of [false, true]) {
    const s = setup(cpu, { debiasConfig: "both", switchHeads });
    const columns = s.heads.map((h) => h.spec.column);
    assertEqual(columns, switchHeads ? ["scale", "marked"] : ["marked", "scale"], "columns");
    assertEqual(s.heads.map((h) => h.spec.method), ["LNTL", "TABE"], "methods stay in place");
    const device = uploadBatch(b, s.heads, cpu);
    for (let k = 0; k < 2; k++) {
      assertEqual(
        Array.from(await device.bias[k].data()),
        Array.from(b.bias[columns[k]]),
        "labels",
      );
      assertClose(
        await s.heads[k].weights!.data(),
        inverseFrequencyWeights(b.bias[columns[k]], 2),
        "weights follow the column",
      );
    }
  }
});

/** Name, options, number of heads, --deep-aux. */
const CONFIGS: [string, DebiasOptions, number, boolean][] = [
  ["baseline", { debiasConfig: "baseline" }, 0, false],
  ["LNTL", { debiasConfig: "LNTL" }, 1, false],
  ["LNTL+GRL", { debiasConfig: "LNTL", GRL: true }, 1, false],
  ["TABE", { debiasConfig: "TABE" }, 1, false],
  ["CLGR", { debiasConfig: "TABE", GRL: true }, 1, false],
  ["doubleTABE", { debiasConfig: "doubleTABE" }, 2, false],
  ["doubleTABE+GRL", { debiasConfig: "doubleTABE", GRL: true }, 2, false],
  ["doubleLNTL", { debiasConfig: "doubleLNTL" }, 2, false],
  ["both", { debiasConfig: "both" }, 2, false],
  ["both+GRL --switch-heads", { debiasConfig: "both", GRL: true, switchHeads: true }, 2, false],
  ["CLGR --rulers --deep-aux", { debiasConfig: "TABE", GRL: true, rulers: true }, 1, true],
];

Deno.test("every configuration steps on every backend with finite losses that agree", async () => {
  for (const [name, o, heads, deep] of CONFIGS) {
    const seen: number[][] = [];
    for (const backend of await allBackends()) {
      const s = setup(backend, { ...o, lrBase: 0.01, lrClass: 0.01 }, false, 3, deep);
      assertEqual(s.heads.length, heads, `${name}: heads`);
      const l = runStep(s);
      const values = (await read([l.total, l.main, ...l.aux])).map((v) => v[0]);
      if (!values.every(Number.isFinite)) throw new Error(`${name} [${backend.name}]: ${values}`);
      assertEqual(l.aux.length, heads, `${name}: one aux loss per head`);
      seen.push(values);
    }
    if (seen.length === 2) {
      assertClose(seen[1], seen[0], `${name}: webgpu vs cpu losses`, { rtol: 1e-3 });
    }
  }
});

Deno.test("spatial bias heads (LNTL's Colored MNIST) step on every backend", async () => {
  for (const backend of await allBackends()) {
    manualSeed(5);
    const settings = resolveDebias({
      debiasConfig: "LNTL",
      GRL: true,
      customHeads: ["r", "g"].map((column) => ({ column, classes: 3, termWeight: 0.5 })),
      weightDecay: 5e-4,
    });
    const bias = { r: Int32Array.from([0, 1, 2, 0]), g: Int32Array.from([2, 2, 1, 0]) };
    const heads = buildBiasHeads(settings.heads, {
      kind: "spatial",
      inFeatures: 4,
      trainBias: bias,
      classWeights: "none",
      backend,
    });
    const encoder = new Conv2d(3, 4, 3, { backend, padding: 1 });
    const main = new (class extends Layer {
      fc = this.addModule("fc", new Linear(4 * 6 * 6, 10, { backend }));
      forward(x: Tensor) {
        return this.fc.forward(flatten(x));
      }
    })(backend);
    const { step } = makeDebiasStep({ encoder, main, heads }, settings);
    const images = Float32Array.from({ length: 4 * 3 * 36 }, (_, i) => Math.cos(i));
    const b: Batch = {
      images,
      shape: [4, 3, 6, 6],
      target: Float32Array.from([1, 2, 3, 4]),
      labels: Int32Array.from([1, 2, 3, 4]),
      bias,
      indices: Int32Array.from([0, 1, 2, 3]),
    };
    const device = uploadBatch(b, heads, backend);
    const l = step(device);
    const values = (await read([l.total, l.main, ...l.aux])).map((v) => v[0]);
    if (!values.every(Number.isFinite)) throw new Error(`spatial [${backend.name}]: ${values}`);
    const pooled = tidy(() => heads[0].module.forward(encoder.forward(device.images)));
    assertEqual(pooled.shape, [4, 3], "one prediction per image");
  }
});
