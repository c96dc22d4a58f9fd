/**
 * `train --dataset ISIC` end to end on a miniature copy of the study's layout (generated JPEGs
 * under the study's CSV schema): CSV -> labels -> loader (with workers) -> train -> the five
 * external test sets; the Heidelberg pair; and --cv's five folds with their cross-validated
 * scores.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type MetricsFile, RUN_FILES } from "../experiments/run-layout.ts";
import { makeIsicMiniature } from "./support/isic-miniature.ts";
import { readEpochs, readRunJson, tinyTrain } from "./support/tiny-train.ts";

const root = Deno.makeTempDirSync({ prefix: "sdu-train-isic-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const mini = await makeIsicMiniature(join(root, "data"), 16);

const ISIC = [
  "--dataset",
  "ISIC",
  "--csv-dir",
  mini.csvDir,
  "--image-dir",
  mini.imageDir,
  "--image-size",
  "16",
  "--batch-size",
  "8",
  "--n-epochs",
  "1",
  "--DEBUG",
  "--backend",
  "cpu",
  "--quiet",
];

Deno.test("train --dataset ISIC: the miniature layout through a ResNet-18 to the five test sets", async () => {
  const { summary } = await tinyTrain(root, "isic", [
    ...ISIC,
    "--arch",
    "resnet18",
    "--num-workers",
    "2",
    "--debias-config",
    "TABE",
    "--instrument",
    "--num-aux",
    "8",
  ]);
  const metrics = readRunJson(summary, RUN_FILES.metrics) as MetricsFile;
  assert.deepEqual(Object.keys(metrics.sets), [
    "atlas_dermoscopic",
    "atlas_clinical",
    "asan",
    "mclass_dermoscopic",
    "mclass_clinical",
  ]);
  for (const [name, s] of Object.entries(metrics.sets)) {
    assert.ok(s.n > 0, name);
    assert.ok(s.auc >= 0 && s.auc <= 1, `${name} AUC ${s.auc}`);
  }
  const predictions = readRunJson(summary, RUN_FILES.predictions) as Record<
    string,
    { imageNames: string[] }
  >;
  assert.ok(predictions.asan.imageNames.every((n) => n.startsWith("asan_")));
  assert.equal(readEpochs(summary)[0].epoch, 1);
  assert.ok(existsSync(join(summary.dirs.weights, "aux1.safetensors")));
});

Deno.test("train --dataset ISIC --heid-test_marked: the Heidelberg plain and marked sets", async () => {
  const { summary } = await tinyTrain(root, "heidelberg", [
    ...ISIC,
    "--arch",
    "synth-cnn",
    "--num-workers",
    "0",
    "--heid-test_marked",
    "--heidelberg-dir",
    mini.heidelbergDir,
    "--marked",
    "--skew",
    "--debias-config",
    "LNTL",
    "--GRL",
  ]);
  const metrics = readRunJson(summary, RUN_FILES.metrics) as MetricsFile;
  assert.deepEqual(Object.keys(metrics.sets), ["plain", "marked"]);
});

Deno.test("train --cv: five folds, each kept at its best validation AUC, and CV scores", async () => {
  const { summary, lines } = await tinyTrain(root, "cv", [
    ...ISIC,
    "--arch",
    "synth-cnn",
    "--num-workers",
    "0",
    "--cv",
    "--n-epochs",
    "2",
  ]);
  const epochs = readEpochs(summary);
  assert.deepEqual(
    epochs.map((r) => [r.fold, r.epoch]),
    [0, 1, 2, 3, 4].flatMap((f) => [
      [f, 1],
      [f, 2],
    ]),
  );
  const metrics = readRunJson(summary, RUN_FILES.metrics) as MetricsFile;
  assert.equal(metrics.folds?.length, 5);
  assert.equal(metrics.cv?.bestValAuc.length, 5);
  assert.ok(metrics.cv!.auc >= 0 && metrics.cv!.auc <= 1, `CV AUC ${metrics.cv!.auc}`);
  for (let k = 1; k <= 5; k++) {
    assert.ok(existsSync(join(summary.dirs.weights, `fold${k}`, "best", "encoder.safetensors")));
    assert.ok(existsSync(join(summary.dirs.weights, `fold${k}`, "checkpoint.safetensors")));
  }
  const md = Deno.readTextFileSync(join(summary.dirs.run, RUN_FILES.metricsMarkdown));
  assert.match(md, /mean ± sd over the folds/);
  assert.ok(lines.some((l) => l.includes("cross-validated: AUC")), lines.join("\n"));
});
