/**
 * `--precision f16` end to end on the study's step (debias/train-step.ts): a CLGR step at f16
 * lands close to the f32 step but not on it (the GEMMs really ran at half), the loss scaler
 * counts it as finite, an overflowing step is skipped with the scale halved, a collapsed scale
 * stops the epoch with the position named, and every command takes the flag.
 */

import type { Backend } from "../gpu/backend.ts";
import { resolveDebias } from "../debias/config.ts";
import { buildBiasHeads } from "../debias/heads.ts";
import { Linear } from "../nn/layers/linear.ts";
import { runDebiasEpoch } from "../debias/run-epoch.ts";
import { disposeLosses, makeDebiasStep, uploadBatch } from "../debias/train-step.ts";
import { cmnistSchema } from "../experiments/cmnist-options.ts";
import { demoSchema, demoTrainArgs } from "../experiments/demo-options.ts";
import { synthSchema } from "../experiments/synth-options.ts";
import { trainSchema } from "../experiments/train-options.ts";
import type { Precision } from "../nn/autocast.ts";
import { manualSeed } from "../nn/random.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends, cpu } from "./support/backends.ts";
import { batch, FEAT, RecordingEncoder } from "./support/debias-net.ts";

/** One CLGR step from the same weights and draws at `precision`: its losses and the weights. */
async function clgrStep(backend: Backend, precision: Precision, initScale?: number) {
  manualSeed(5);
  const settings = resolveDebias({ debiasConfig: "TABE", GRL: true, lrBase: 0.1, lrClass: 0.1 });
  const encoder = new RecordingEncoder(backend);
  const main = new Linear(FEAT, 1, { backend });
  const heads = buildBiasHeads(settings.heads, {
    kind: "linear",
    inFeatures: FEAT,
    trainBias: batch().bias,
    backend,
  });
  const net = { encoder, main, heads };
  const made = makeDebiasStep(net, settings, undefined, precision);
  if (initScale !== undefined) made.scaler!.load({ scale: initScale, goodSteps: 0, overflows: 0 });
  const before = await Promise.all(encoder.parameters().map((p) => p.data()));
  const device = uploadBatch(batch(), heads, backend);
  manualSeed(9);
  const losses = made.step(device);
  const values = [
    (await losses.total.data())[0],
    ...await Promise.all(
      losses.aux.map(async (l) => (await l.data())[0]),
    ),
  ];
  const after = await Promise.all(encoder.parameters().map((p) => p.data()));
  const scale = made.scaler ? await made.scaler.snapshot() : null;
  disposeLosses(losses);
  made.scaler?.dispose();
  return {
    values,
    before: before.flatMap((d) => [...d]),
    after: after.flatMap((d) => [...d]),
    scale,
  };
}

Deno.test("f16 CLGR step: near the f32 step but not on it, counted as a finite step", async () => {
  for (const backend of await allBackends()) {
    const f32 = await clgrStep(backend, "f32");
    const f16 = await clgrStep(backend, "f16");
    const label = backend.name;
    assertEqual(f16.before, f32.before, `${label}: same start`);
    assertClose(f16.values, f32.values, `${label}: losses`, { rtol: 5e-3, atol: 1e-3 });
    if (f16.values.every((v, i) => v === f32.values[i])) {
      throw new Error(`${label}: the f16 losses equal the f32 ones bit for bit: no half GEMM ran`);
    }
    assertClose(f16.after, f32.after, `${label}: weights after the step`, {
      rtol: 1e-2,
      atol: 2e-4,
    });
    assertEqual(f16.scale, { scale: 2 ** 16, goodSteps: 1, overflows: 0 }, `${label}: scaler`);
  }
});

Deno.test("f16 step: gradients that overflow half skip the update and halve the scale", async () => {
  for (const backend of await allBackends()) {
    const run = await clgrStep(backend, "f16", 2 ** 100);
    assertEqual(run.after, run.before, `${backend.name}: weights untouched`);
    assertEqual(run.scale, { scale: 2 ** 99, goodSteps: 0, overflows: 1 }, `${backend.name}`);
  }
});

Deno.test("runDebiasEpoch reads the loss scale back and stops a run whose scale collapsed", async () => {
  manualSeed(5);
  const settings = resolveDebias({ debiasConfig: "baseline", lrBase: 0.1, lrClass: 0.1 });
  const encoder = new RecordingEncoder(cpu);
  const main = new Linear(FEAT, 1, { backend: cpu });
  const made = makeDebiasStep({ encoder, main, heads: [] }, settings, undefined, "f16");
  const epoch = (n: number) =>
    runDebiasEpoch({
      step: made.step,
      heads: [],
      backend: cpu,
      batches: Array.from({ length: n }, batch),
      readEvery: 2,
      epoch: 2,
      scaler: made.scaler,
    });
  const fine = await epoch(3);
  assertEqual(fine.lossScale, { scale: 2 ** 16, goodSteps: 3, overflows: 0 }, "snapshot");
  made.scaler!.load({ scale: 0.5, goodSteps: 0, overflows: 40 });
  let message = "";
  await epoch(3).catch((e) => (message = e.message));
  if (!/training diverged at step 2 of epoch 2: the loss scale fell to 0\.5/.test(message)) {
    throw new Error(`collapsed scale not reported: "${message}"`);
  }
  made.scaler!.dispose();
});

Deno.test("--precision: every training command takes f32 (default) or f16, and names bad values", () => {
  for (
    const [name, schema, base] of [
      ["train", trainSchema, { testNo: "12" }],
      ["cmnist", cmnistSchema, { sigma2: "0.02", debiasConfig: "baseline", seeds: "0" }],
      ["synth", synthSchema, { debiasConfig: "baseline", seeds: "0" }],
      ["demo", demoSchema, {}],
    ] as const
  ) {
    assertEqual(schema.parse(base).precision, "f32", `${name} default`);
    assertEqual(schema.parse({ ...base, precision: "f16" }).precision, "f16", `${name} f16`);
    const bad = schema.safeParse({ ...base, precision: "f8" });
    if (bad.success || !/f32|f16/.test(JSON.stringify(bad.error.issues))) {
      throw new Error(`${name}: --precision f8 accepted or not explained`);
    }
  }
  const args = demoTrainArgs(demoSchema.parse({ precision: "f16" }));
  assertEqual(args[args.indexOf("--precision") + 1], "f16", "the demo hands it to train");
});
