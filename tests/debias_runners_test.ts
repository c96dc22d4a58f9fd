import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { cmnistSchema } from "../experiments/cmnist-options.ts";
import { methodSettings, runCmnist } from "../experiments/cmnist.ts";
import { paperAccuracy } from "../experiments/cmnist-report.ts";
import { linearProbe } from "../experiments/linear-probe.ts";
import { synthSchema } from "../experiments/synth-options.ts";
import { runSynth, synthSettings } from "../experiments/synth.ts";
import { assertEqual } from "./support/assert.ts";
import { tinySynthOptions } from "./support/tiny-synth.ts";

Deno.test("linear probe: separable labels are decoded, unrelated ones are not", () => {
  const n = 400;
  const features = new Float32Array(n * 3);
  const labels = new Int32Array(n);
  const noise = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4;
    noise[i] = (i * 7919 + 13) % 97 % 4;
    features[i * 3] = labels[i] * 2 + Math.sin(i) * 0.3;
    features[i * 3 + 1] = (labels[i] % 2) * 3 + Math.cos(3 * i) * 0.3;
    features[i * 3 + 2] = Math.sin(7 * i);
  }
  const decoded = linearProbe(features, 3, labels, 4);
  if (decoded.accuracy < 0.95) throw new Error(`separable labels probed at ${decoded.accuracy}`);
  const unrelated = linearProbe(features, 3, noise, 4);
  if (unrelated.accuracy > 0.45) {
    throw new Error(`unrelated labels probed at ${unrelated.accuracy}`);
  }
  assertEqual([decoded.fitted, decoded.scored], [200, 200], "halves");
});

Deno.test("cmnist options: defaults are the paper's schedule; bad values name the flag", () => {
  const o = cmnistSchema.parse({
    sigma2: "0.02,0.03",
    debiasConfig: "baseline,CLGR",
    seeds: "0,1",
  });
  assertEqual(
    [o.epochs, o.lrStep, o.batchSize, o.lr, o.weightDecay],
    [100, 40, 128, 0.01, 5e-4],
    "",
  );
  assertEqual(o.sigma2, [0.02, 0.03], "sigma2 list");
  const bad = cmnistSchema.safeParse({ sigma2: "0.02,x", debiasConfig: "LNTL", seeds: "0" });
  if (bad.success || !/"x"/.test(bad.error.issues[0].message)) throw new Error("bad sigma2 passed");
  const clgr = methodSettings("CLGR", o);
  assertEqual([clgr.config, clgr.grl, clgr.heads.length], ["TABE", true, 3], "CLGR = TABE + GRL");
  assertEqual(methodSettings("LNTL", o).grl, false, "LNTL alone has no GRL");
  assertEqual(paperAccuracy("LNTL+GRL", 0.02), 0.8185, "paper LNTL at 0.020");
});

Deno.test("synth options: methods resolve to the study's heads", () => {
  const o = synthSchema.parse({ instrument: true, debiasConfig: "both+GRL", seeds: "0" });
  const s = synthSettings("both+GRL", o);
  assertEqual(s.heads.map((h) => [h.column, h.classes, h.method]), [
    ["instrument", 8, "LNTL"],
    ["marked", 2, "TABE"],
  ], "both: instrument LNTL head, marked TABE head");
  assertEqual(s.grl, true, "GRL");
  const rulers = synthSettings(
    "CLGR",
    synthSchema.parse({ rulers: true, debiasConfig: "CLGR", seeds: "0" }),
  );
  assertEqual(rulers.heads.map((h) => h.column), ["scale"], "rulers -> scale");
  assertEqual(rulers.confusionTarget, "uniform-random", "the study's confusion target by default");
  const alvi = synthSchema.parse({
    debiasConfig: "TABE",
    seeds: "0",
    confusionTarget: "uniform-target",
  });
  assertEqual(synthSettings("TABE", alvi).confusionTarget, "uniform-target", "--confusion-target");
  const bad = synthSchema.safeParse({ debiasConfig: "TABE", seeds: "0", confusionTarget: "half" });
  assertEqual(bad.success, false, "an unknown confusion target is refused");
});

Deno.test("cmnist and synth runners train, score and write their tables", async () => {
  const dir = mkdtempSync(join(tmpdir(), "debias-runners-"));
  const quiet = () => {};
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
        outDir: join(dir, "cmnist"),
        quiet: true,
      }),
      quiet,
    );
    assertEqual(c.runs.map((r) => [r.method, r.epochs[0].steps, r.testSize]), [
      ["baseline", 2, 8],
      ["LNTL+GRL", 2, 8],
    ], "runs");
    for (const r of c.runs) {
      if (!(r.testAccuracy >= 0 && r.testAccuracy <= 1)) {
        throw new Error(`accuracy ${r.testAccuracy}`);
      }
      assertEqual(r.binProbes.length, 3, "three bin probes");
    }
    assertEqual(c.runs[1].epochs[0].aux.length, 3, "three colour heads");
    const json = JSON.parse(readFileSync(join(dir, "cmnist", "cmnist.json"), "utf8"));
    assertEqual(json.runs.length, 2, "JSON runs");
    const md = readFileSync(join(dir, "cmnist", "cmnist.md"), "utf8");
    if (!md.includes("(paper 0.819)")) throw new Error(`markdown lacks the paper's LNTL:\n${md}`);

    const s = await runSynth(
      tinySynthOptions({
        debiasConfig: "baseline,TABE",
        backend: "cpu",
        outDir: join(dir, "synth"),
      }),
      quiet,
    );
    for (const r of s.runs) {
      for (const [set, auc] of Object.entries(r.auc)) {
        if (!(auc >= 0 && auc <= 1)) throw new Error(`${r.method} ${set} AUC ${auc}`);
      }
      for (const [set, shift] of Object.entries(r.shift)) {
        if (!(shift.sd >= 0 && Number.isFinite(shift.mean))) {
          throw new Error(`${r.method} ${set} shift ${JSON.stringify(shift)}`);
        }
      }
    }
    if (!existsSync(join(dir, "synth", "synth-rulers.md"))) throw new Error("no synth table");
    if (existsSync(join(dir, "synth", "synth-rulers.md.partial"))) throw new Error("partial left");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
