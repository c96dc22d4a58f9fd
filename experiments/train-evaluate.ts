/**
 * The test half of a train run: every test set scored with the study's 8-fold TTA, its metrics
 * (AUC with ties counted half, and accuracy, sensitivity, specificity and F1 at 0.5), ROC points,
 * per-image predictions with their bias labels, and pooled features for the report's bias audit,
 * written into the run folder as run-layout.ts fixes. A set of one class has no AUC or ROC: its
 * AUC is NaN here and null in the JSON, and the Markdown shows "—".
 */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { NCHW } from "../data/batch.ts";
import type { Backend } from "../gpu/backend.ts";
import { writeSafetensors } from "../nn/safetensors.ts";
import type { DebiasNetwork } from "../debias/train-step.ts";
import { rocAuc, rocCurve, thresholdMetrics } from "./metrics.ts";
import { fileStem } from "./plots/names.ts";
import { formatMeanSd, markdownTable, writeAtomic } from "./results-files.ts";
import {
  type MetricsFile,
  type PredictionsFile,
  type RocFile,
  RUN_FILES,
  type SetMetrics,
} from "./run-layout.ts";
import type { EvalSet } from "./train-data.ts";
import { predictSet } from "./train-predict.ts";

/** One test set's evaluation. */
export interface SetEvaluation {
  name: string;
  imageNames: string[];
  scores: Float64Array;
  targets: Float32Array;
  bias: Record<string, Int32Array>;
  metrics: SetMetrics;
  features: Float32Array;
  featureDim: number;
  /** A few of the set's images (for saliency maps) and their indices in the set. */
  picked: { indices: number[]; images: Float32Array; shape: NCHW };
}

/** The study's metrics of one set's scores (probabilities) against 0/1 targets. */
export function setMetrics(scores: ArrayLike<number>, targets: ArrayLike<number>): SetMetrics {
  let positives = 0;
  for (let i = 0; i < targets.length; i++) positives += targets[i] === 1 ? 1 : 0;
  const both = positives > 0 && positives < targets.length;
  return {
    n: targets.length,
    positives,
    auc: both ? rocAuc(scores, targets) : NaN,
    ...thresholdMetrics(scores, targets, 0.5),
  };
}

export interface EvaluateSetsOptions {
  backend: Backend;
  batchSize: number;
  numWorkers: number;
  /** Indices of the images to keep for saliency maps, per set (by the set's targets). */
  pick: (targets: Float32Array) => number[];
}

/** Scores every set with TTA and computes its metrics. */
export async function evaluateSets(
  net: DebiasNetwork,
  sets: readonly EvalSet[],
  o: EvaluateSetsOptions,
): Promise<SetEvaluation[]> {
  const out: SetEvaluation[] = [];
  for (const set of sets) {
    const indices = o.pick(set.dataset.target);
    const s = await predictSet(net, set.dataset, {
      backend: o.backend,
      batchSize: o.batchSize,
      numWorkers: o.numWorkers,
      features: true,
      keepImages: indices,
    });
    out.push({
      name: set.name,
      imageNames: set.imageNames,
      scores: s.scores,
      targets: s.targets,
      bias: set.dataset.bias,
      metrics: setMetrics(s.scores, s.targets),
      features: s.features,
      featureDim: s.featureDim,
      picked: { indices, ...s.kept },
    });
  }
  return out;
}

/** The ensemble of several models' evaluations of the same sets: scores averaged per image. */
export function averageEvaluations(runs: readonly SetEvaluation[][]): SetEvaluation[] {
  if (runs.length === 0) throw new Error("no evaluations to average");
  return runs[0].map((first, k) => {
    const scores = new Float64Array(first.scores.length);
    for (const run of runs) run[k].scores.forEach((v, i) => (scores[i] += v / runs.length));
    return { ...first, scores, metrics: setMetrics(scores, first.targets) };
  });
}

const fixed = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "—");

/** The metrics as a Markdown table; under --cv with each fold's mean ± sd below. */
export function metricsMarkdown(m: MetricsFile, heading: string): string {
  const header = [
    "test set",
    "images",
    "melanoma",
    "AUC",
    "accuracy",
    "sensitivity",
    "specificity",
    "F1",
  ];
  const rows = Object.entries(m.sets).map(([name, s]) => [
    name,
    String(s.n),
    String(s.positives),
    fixed(s.auc),
    fixed(s.accuracy),
    fixed(s.sensitivity),
    fixed(s.specificity),
    fixed(s.f1),
  ]);
  const parts = [`# ${heading}`, "", markdownTable(header, rows), ""];
  if (m.folds?.length) {
    const keys = ["auc", "accuracy", "sensitivity", "specificity", "f1"] as const;
    const foldRows = Object.keys(m.sets).map((name) => [
      name,
      ...keys.map((k) =>
        formatMeanSd(m.folds!.map((f) => f[name]?.[k]).filter((v) => Number.isFinite(v)))
      ),
    ]);
    parts.push(
      `Above: the ${m.folds.length} folds' best-validation-AUC models averaged per image. ` +
        `Below: each fold's model on its own, mean ± sd over the folds.`,
      "",
      markdownTable(["test set", "AUC", "accuracy", "sensitivity", "specificity", "F1"], foldRows),
      "",
    );
  }
  return parts.join("\n");
}

/** The metrics file of a set of evaluations. */
export function metricsFile(
  evals: readonly SetEvaluation[],
  meta: Pick<MetricsFile, "testNo" | "method" | "checkpoint" | "cv">,
  folds?: readonly SetEvaluation[][],
): MetricsFile {
  const byName = (list: readonly SetEvaluation[]) =>
    Object.fromEntries(list.map((e) => [e.name, e.metrics]));
  return {
    ...meta,
    sets: byName(evals),
    ...(folds ? { folds: folds.map(byName) } : {}),
  };
}

/**
 * Writes metrics.json, metrics.md, roc.json, predictions.json and features/<set>.safetensors;
 * returns the paths. `featuresFrom` are the evaluations whose features are kept (one model's:
 * under --cv the ensemble has no single feature space).
 */
export async function writeEvaluation(
  runDir: string,
  metrics: MetricsFile,
  evals: readonly SetEvaluation[],
  featuresFrom: readonly SetEvaluation[],
  heading: string,
): Promise<string[]> {
  const file = (name: string) => join(runDir, name);
  const json = (v: unknown) => JSON.stringify(v, null, 1) + "\n";
  writeAtomic(file(RUN_FILES.metrics), json(metrics));
  writeAtomic(file(RUN_FILES.metricsMarkdown), metricsMarkdown(metrics, heading));
  const roc: RocFile = {};
  const predictions: PredictionsFile = {};
  for (const e of evals) {
    if (Number.isFinite(e.metrics.auc)) roc[e.name] = rocCurve(e.scores, e.targets);
    predictions[e.name] = {
      imageNames: e.imageNames,
      scores: Array.from(e.scores),
      targets: Array.from(e.targets),
      bias: Object.fromEntries(Object.entries(e.bias).map(([k, v]) => [k, Array.from(v)])),
    };
  }
  writeAtomic(file(RUN_FILES.roc), json(roc));
  writeAtomic(file(RUN_FILES.predictions), JSON.stringify(predictions) + "\n");
  const paths = [RUN_FILES.metrics, RUN_FILES.metricsMarkdown, RUN_FILES.roc, RUN_FILES.predictions]
    .map(file);
  const featuresDir = file(RUN_FILES.featuresDir);
  mkdirSync(featuresDir, { recursive: true });
  for (const e of featuresFrom) {
    const n = e.targets.length;
    const path = join(featuresDir, `${fileStem(e.name)}.safetensors`);
    const labels = Object.entries(e.bias).map((
      [k, v],
    ): [string, { dtype: "i32"; shape: number[]; data: Int32Array }] => [
      k,
      { dtype: "i32", shape: [n], data: Int32Array.from(v) },
    ]);
    await writeSafetensors(path, [
      ["features", { dtype: "f32", shape: [n, e.featureDim], data: e.features }],
      ["target", { dtype: "i32", shape: [n], data: Int32Array.from(e.targets) }],
      ...labels,
    ], { set: e.name });
    paths.push(path);
  }
  return paths;
}
