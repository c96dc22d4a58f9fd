/**
 * `train` end to end on tiny synthetic data: every --debias-config (with and without --GRL, both
 * double-head configurations, --switch-heads, --deep-aux) trains one --DEBUG epoch and writes
 * every file of the run folder; `evaluate` reproduces the metrics from the saved weights.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors } from "../nn/safetensors.ts";
import { RUN_FILES } from "../experiments/run-layout.ts";
import type { MetricsFile, RunConfigFile } from "../experiments/run-layout.ts";
import { readEpochs, readRunJson, TINY_SYNTH, tinyTrain } from "./support/tiny-train.ts";

const root = Deno.makeTempDirSync({ prefix: "sdu-train-run-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const SETS = ["plain", "marked", "rulers", "instrument"];

const CONFIGS: { name: string; argv: string[]; method: string; heads: string[] }[] = [
  { name: "baseline", argv: [], method: "baseline", heads: [] },
  {
    name: "lntl",
    argv: ["--debias-config", "LNTL", "--marked"],
    method: "LNTL",
    heads: ["marked"],
  },
  {
    name: "lntl-grl",
    argv: ["--debias-config", "LNTL", "--GRL", "--rulers"],
    method: "LNTL+GRL",
    heads: ["scale"],
  },
  {
    name: "tabe",
    argv: ["--debias-config", "TABE", "--instrument", "--num-aux", "8"],
    method: "TABE",
    heads: ["instrument"],
  },
  {
    name: "clgr-deep",
    argv: ["--debias-config", "TABE", "--GRL", "--marked", "--deep-aux"],
    method: "CLGR",
    heads: ["marked"],
  },
  {
    name: "both-switch",
    argv: ["--debias-config", "both", "--GRL", "--switch-heads"],
    method: "both+GRL",
    heads: ["scale", "marked"],
  },
  {
    name: "double-tabe",
    argv: ["--debias-config", "doubleTABE", "--instrument", "--num-aux", "8"],
    method: "doubleTABE",
    heads: ["instrument", "marked"],
  },
  {
    name: "double-lntl",
    argv: ["--debias-config", "doubleLNTL", "--deep-aux"],
    method: "doubleLNTL",
    heads: ["marked", "scale"],
  },
];

Deno.test("train: every debias configuration runs a DEBUG epoch and writes its run folder", async () => {
  for (const c of CONFIGS) {
    const { summary, lines } = await tinyTrain(root, c.name, [...TINY_SYNTH, ...c.argv]);
    const { run, weights, plots } = summary.dirs;
    const file = (dir: string, name: string) => {
      const path = join(dir, name);
      assert.ok(existsSync(path), `${c.name}: ${path} missing`);
      return path;
    };
    for (const name of Object.values(RUN_FILES)) file(run, name);
    for (const set of SETS) file(run, join(RUN_FILES.featuresDir, `${set}.safetensors`));
    const parts = ["encoder", "classifier", ...c.heads.map((_, k) => `aux${k + 1}`)];
    for (const part of [...parts, "checkpoint"]) file(weights, `${part}.safetensors`);
    assert.ok(!existsSync(join(weights, `aux${c.heads.length + 1}.safetensors`)));
    for (const fig of ["roc", "training"]) {
      file(plots, `${fig}.svg`);
      file(plots, `${fig}.png`);
    }
    for (const set of SETS) file(plots, join("saliency", `${set}-0.png`));

    const config = readRunJson(summary, RUN_FILES.config) as RunConfigFile;
    assert.equal(config.method, c.method);
    assert.deepEqual(config.heads.map((h) => h.column), c.heads);
    assert.equal(config.sources.DEBUG, "command line");
    const epochs = readEpochs(summary);
    assert.equal(epochs.length, 1);
    const loss = epochs[0].loss as { total: number; main: number; aux: number[] };
    assert.equal(loss.aux.length, c.heads.length, `${c.name}: one aux loss per head`);
    assert.ok(Number.isFinite(loss.main) && loss.main > 0);
    assert.equal((epochs[0] as unknown as { steps: number }).steps, 3, "--DEBUG: 3 batches");

    const metrics = readRunJson(summary, RUN_FILES.metrics) as MetricsFile;
    assert.deepEqual(Object.keys(metrics.sets), SETS);
    for (const s of Object.values(metrics.sets)) {
      assert.equal(s.n, 16);
      assert.ok(s.auc >= 0 && s.auc <= 1);
    }
    const md = Deno.readTextFileSync(join(run, RUN_FILES.metricsMarkdown));
    assert.ok(md.includes("| plain | 16 |"), md);
    const log = Deno.readTextFileSync(join(run, RUN_FILES.log));
    assert.ok(/epoch 1\/1: loss [\d.]+, main [\d.]+/.test(log), log);
    assert.ok(lines.some((l) => l.startsWith(`done: test ${c.name}`)), lines.join("\n"));

    const { tensors } = await readSafetensors(
      join(run, RUN_FILES.featuresDir, "plain.safetensors"),
    );
    assert.deepEqual(tensors.get("features")?.shape, [16, 64]);
    for (const k of ["target", "marked", "scale", "instrument"]) {
      assert.deepEqual(tensors.get(k)?.shape, [16], k);
    }
  }
});

Deno.test("evaluate: the saved weights give the metrics, ROC and predictions again", async () => {
  const argv = [...TINY_SYNTH, "--debias-config", "TABE", "--marked"];
  const trained = await tinyTrain(root, "evaluate-me", argv);
  const before = [RUN_FILES.metrics, RUN_FILES.roc, RUN_FILES.predictions].map((f) =>
    Deno.readTextFileSync(join(trained.summary.dirs.run, f))
  );
  Deno.removeSync(join(trained.summary.dirs.run, RUN_FILES.metrics));
  const again = await tinyTrain(root, "evaluate-me", [...argv, "--test-only"]);
  const after = [RUN_FILES.metrics, RUN_FILES.roc, RUN_FILES.predictions].map((f) =>
    Deno.readTextFileSync(join(again.summary.dirs.run, f))
  );
  assert.deepEqual(after, before);
  assert.equal(readEpochs(again.summary).length, 1, "evaluating trains nothing");
});

Deno.test("evaluate: a run that was never trained names the missing weights", async () => {
  await assert.rejects(
    () => tinyTrain(root, "never-trained", [...TINY_SYNTH, "--test-only"]),
    Error,
    "no weights of test never-trained",
  );
});
