import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cmnistSchema } from "../experiments/cmnist-options.ts";
import { runCmnist } from "../experiments/cmnist.ts";
import { runSynth, synthSets } from "../experiments/synth.ts";
import { synthPretrainSchema } from "../experiments/synth-pretrain-options.ts";
import {
  loadSynthTrunk,
  pretrainCorrelation,
  pretrainSynthTrunk,
} from "../experiments/synth-pretrain.ts";
import { makeSkinTrainSet } from "../data/synthetic/skin-artefacts.ts";
import { synthStart } from "../experiments/synth-start.ts";
import { checkSchedule, warmedStep, warmupFactor } from "../experiments/unlearning-schedule.ts";
import { resolveDebias } from "../debias/config.ts";
import type { DebiasStep, DeviceBatch, StepLosses } from "../debias/train-step.ts";
import { readSafetensors, writeSafetensors } from "../nn/safetensors.ts";
import { cpu } from "./support/backends.ts";
import { tinySynthOptions } from "./support/tiny-synth.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";

const quiet = () => {};

async function rejects(p: Promise<unknown>, pattern: RegExp, label: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (pattern.test((err as Error).message)) return;
    throw new Error(`${label}: wrong error: ${(err as Error).message}`);
  }
  throw new Error(`${label}: no error`);
}

Deno.test("warm-up ramps lambda, alpha and the GRL scale linearly, step by step, then holds", () => {
  const settings = resolveDebias({ debiasConfig: "LNTL", GRL: true, lambdaa: 0.2, grlScale: 1 });
  const seen: number[][] = [];
  const fake: DebiasStep = () => {
    seen.push([settings.lambda, settings.alpha, settings.grlScale]);
    return {} as StepLosses;
  };
  const step = warmedStep(fake, settings, 2, 4);
  for (let i = 0; i < 10; i++) step({} as DeviceBatch);
  const f = [1, 2, 3, 4, 5, 6, 7, 8, 8, 8].map((k) => k / 8);
  assertClose(seen.map((s) => s[2]), f, "GRL scale over 2 epochs of 4 steps");
  assertClose(seen.map((s) => s[0]), f.map((x) => 0.2 * x), "lambda");
  assertClose(seen.map((s) => s[1]), f.map((x) => 0.03 * x), "alpha (default 0.03)");
  assertEqual([warmupFactor(3, 0), warmupFactor(-1, 2)], [1, 0], "no warm-up; before it");
  assertThrows(
    () => checkSchedule({ baselineEpochs: 1.5, warmupEpochs: 0, debiasLrFactor: 1 }, 2),
    /baseline epochs must be/,
    "fractional baseline epochs",
  );
  assertThrows(
    () => checkSchedule({ baselineEpochs: 0, warmupEpochs: 0, debiasLrFactor: 0 }, 2),
    /lr factor/,
    "zero lr factor",
  );
});

Deno.test("synth: DeLong per seed, intervals over seeds, recovery; the baseline stage is shared", async () => {
  const dir = mkdtempSync(join(tmpdir(), "unlearning-"));
  try {
    const o = tinySynthOptions({
      debiasConfig: "baseline,CLGR",
      seeds: "0,1",
      baselineEpochs: "1",
      warmupEpochs: "0.5",
      backend: "cpu",
      outDir: dir,
    });
    const s = await runSynth(o, quiet);
    assertEqual(s.runs.map((r) => [r.method, r.seed, r.epochs.length]), [
      ["baseline", 0, 2],
      ["CLGR", 0, 2],
      ["baseline", 1, 2],
      ["CLGR", 1, 2],
    ], "every method trains the baseline stage plus --epochs");
    for (const seed of [0, 1]) {
      const [base, clgr] = s.runs.filter((r) => r.seed === seed);
      assertEqual(clgr.epochs[0], base.epochs[0], `seed ${seed}: one shared baseline stage`);
      assertEqual(base.vsBaseline, undefined, "the baseline is not compared with itself");
      const d = clgr.vsBaseline!.rulers;
      assertClose([d.difference], [clgr.auc.rulers - base.auc.rulers], "DeLong's difference");
      assertEqual(d.p >= 0 && d.p <= 1 && d.low <= d.high, true, `p ${d.p}`);
    }
    const md = readFileSync(join(dir, "synth-rulers.md"), "utf8");
    for (
      const part of [
        "AUC difference to the baseline",
        "over 2 seeds",
        "DeLong p<0.05",
        "rulers: share",
      ]
    ) {
      if (!md.includes(part)) throw new Error(`synth table lacks "${part}":\n${md}`);
    }
    const json = JSON.parse(readFileSync(join(dir, "synth-rulers.json"), "utf8"));
    assertEqual(typeof json.runs[1].vsBaseline.plain.z, "number", "JSON keeps the DeLong tests");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("synth-pretrain writes a trunk that synth --init-weights starts from, and checks it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pretrain-"));
  try {
    const out = join(dir, "trunk.safetensors");
    const p = synthPretrainSchema.parse({
      trainSize: "16",
      valSize: "8",
      epochs: "1",
      imageSize: "16",
      width: "2",
      batchSize: "8",
      backend: "cpu",
      out,
      quiet: true,
    });
    const r = await pretrainSynthTrunk(p, quiet);
    assertEqual(existsSync(out) && r.valAuc >= 0 && r.valAuc <= 1, true, "file and AUC");
    const file = await readSafetensors(out);
    assertEqual([file.metadata.width, file.metadata.imageSize], ["2", "16"], "geometry metadata");
    // With no baseline stage the start is the file's weights exactly.
    const o = tinySynthOptions({ initWeights: out, backend: "cpu" });
    const sets = synthSets(o, 0);
    const start = await synthStart(
      o,
      { baselineEpochs: 0, warmupEpochs: 0, debiasLrFactor: 1 },
      sets.train,
      0,
      cpu,
      quiet,
    );
    for (const [key, t] of file.tensors) {
      assertClose(start.encoder.get(key)!.data as Float32Array, t.data as Float32Array, key, {
        rtol: 0,
        atol: 0,
      });
    }
    await rejects(
      loadSynthTrunk(out, { width: 4, imageSize: 16 }, cpu),
      /trunk of width 2 for 16 px images, but the run uses --width 4/,
      "wrong width",
    );
    const other = join(dir, "other.safetensors");
    await writeSafetensors(other, [["w", { dtype: "f32", shape: [1], data: new Float32Array(1) }]]);
    await rejects(
      loadSynthTrunk(other, { width: 2, imageSize: 16 }),
      /other.safetensors: not a synthetic trunk file/,
      "not a trunk",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("cmnist: McNemar's test against the same seed's baseline on the shared test digits", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cmnist-mcnemar-"));
  try {
    const c = await runCmnist(
      cmnistSchema.parse({
        sigma2: "0.02",
        debiasConfig: "baseline,LNTL+GRL",
        seeds: "0",
        epochs: "1",
        trainSubset: "8",
        testSubset: "8",
        batchSize: "4",
        backend: "cpu",
        outDir: dir,
        quiet: true,
      }),
      quiet,
    );
    const [base, lntl] = c.runs;
    assertEqual(base.vsBaseline, undefined, "baseline has none");
    assertClose(
      [lntl.vsBaseline!.difference],
      [lntl.testAccuracy - base.testAccuracy],
      "McNemar's difference is the accuracy difference",
    );
    const md = readFileSync(join(dir, "cmnist.md"), "utf8");
    if (!md.includes("(McNemar)")) throw new Error(`cmnist table lacks McNemar:\n${md}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("synth-pretrain's lesions: no markings or rulers by default, or drawn independently", () => {
  const count = (a: Int32Array) => a.reduce((s, v) => s + v, 0);
  const none = makeSkinTrainSet({ n: 64, size: 16, correlation: pretrainCorrelation("none") });
  assertEqual([count(none.bias.marked), count(none.bias.scale)], [0, 0], "artefact-free");
  const mixed = makeSkinTrainSet({
    n: 64,
    size: 16,
    correlation: pretrainCorrelation("uncorrelated"),
  });
  const marked = count(mixed.bias.marked);
  assertEqual(marked > 10 && marked < 54, true, `about half marked, got ${marked} of 64`);
  assertEqual(synthPretrainSchema.parse({}).artefacts, "none", "the shipped trunk's default");
});
