/**
 * `cli.ts train`: one configuration of the study from its resolved options to its run folder.
 * It chooses the backend (and says why), prints the configuration with the source of every
 * non-default value, builds the data of --dataset, trains (one model, or five under --cv, each
 * resumable), tests every test set with the study's 8-fold TTA, writes the metrics, ROC points,
 * predictions, features and figures, and ends with a short summary. --test-only (`evaluate`)
 * loads the run's saved weights instead of training, and writes the same files again.
 */

import { prepareHalfPrecision } from "../gpu/mixed-precision.ts";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { subsetDataset } from "../data/subset.ts";
import { setDefaultBackend } from "../nn/tensor.ts";
import { formatDuration } from "../data/progress.ts";
import { rocAuc, thresholdMetrics } from "./metrics.ts";
import { type CvScores, type MetricsFile, type RocFile, runDirs } from "./run-layout.ts";
import { selectTrainBackend } from "./train-backend.ts";
import { loadNetworkWeights } from "./train-checkpoint.ts";
import { describeConfig, type ResolvedTrainConfig } from "./train-config.ts";
import { buildTrainData, type EvalSet, type TrainData } from "./train-data.ts";
import { type TrainedModel, trainModel } from "./train-epochs.ts";
import {
  averageEvaluations,
  evaluateSets,
  metricsFile,
  type SetEvaluation,
  writeEvaluation,
} from "./train-evaluate.ts";
import { writeRunFigures } from "./train-figures.ts";
import { RunFiles } from "./train-files.ts";
import { buildTrainNetwork, disposeTrainNetwork, type TrainNetwork } from "./train-network.ts";
import { methodName, type TrainOptions } from "./train-options.ts";
import { predictSet } from "./train-predict.ts";
import { assertLossBounded, assertScoresVary } from "./run-health.ts";
import { saliencyPicks } from "./saliency.ts";
import { rocCurve } from "./metrics.ts";
import type { Backend } from "../gpu/backend.ts";
import { debiasSettingsOf } from "./train-config.ts";

/** What a finished run reports back (the CLI prints it; the demo tabulates it). */
export interface TrainSummary {
  testNo: string;
  method: string;
  dirs: ReturnType<typeof runDirs>;
  backend: string;
  metrics: MetricsFile;
  /** Every file written by the test half (metrics, ROC, predictions, features, figures). */
  files: string[];
  seconds: number;
}

/** Saliency maps per test set. */
const SALIENCY_IMAGES = 4;
/** CV folds, as the study's tfrecord map. */
const FOLDS = 5;

interface Run {
  o: TrainOptions;
  method: string;
  backend: Backend;
  files: RunFiles;
  data: TrainData;
  log: (line: string) => void;
}

/**
 * Trains (or evaluates) the configuration; see the module doc. `given.data`: the data of these
 * options, already built (runs that differ only in their method share it: the demo).
 */
export async function runTrain(
  config: ResolvedTrainConfig,
  log: (line: string) => void = console.log,
  given: { data?: TrainData } = {},
): Promise<TrainSummary> {
  const start = performance.now();
  const o = config.options;
  const method = methodName(o);
  const dirs = runDirs(o, o.testNo);
  if (o.testOnly) checkWeightsExist(o, dirs.weights);
  const chosen = await selectTrainBackend(
    o.backend,
    o.CUDA_VISIBLE_DEVICES,
    config.sources.CUDA_VISIBLE_DEVICES === "command line",
  );
  setDefaultBackend(chosen.backend);
  log(`train ${o.testNo}: ${method}; ${chosen.description}`);
  if (o.precision === "f16") log(await prepareHalfPrecision(chosen.backend));
  log(describeConfig(config));
  const data = given.data ?? await buildTrainData(o);
  log(`data: ${data.description}`);
  const files = new RunFiles(dirs);
  files.prepare();
  const mode = o.testOnly ? "evaluate" : o.cv ? `train ${FOLDS}-fold CV` : "train";
  files.log(`${mode} ${o.testNo} (${method}): ${chosen.description}; ${data.description}`);
  if (!o.testOnly || !files.hasConfig()) {
    files.writeConfig({
      testNo: o.testNo,
      method,
      options: o,
      sources: config.sources,
      dirs,
      backend: chosen.backend.name,
      started: new Date().toISOString(),
      heads: debiasSettingsOf(o).heads.map(({ column, classes, method }) => ({
        column,
        classes,
        method,
      })),
    });
  }
  const run: Run = { o, method, backend: chosen.backend, files, data, log };
  const result = o.testOnly
    ? await evaluateOnly(run)
    : o.cv
    ? await crossValidate(run)
    : await trainAndTest(run);
  const seconds = (performance.now() - start) / 1000;
  const summary: TrainSummary = {
    testNo: o.testNo,
    method,
    dirs,
    backend: chosen.backend.name,
    metrics: result.metrics,
    files: result.files,
    seconds,
  };
  const end = summaryLines(summary);
  end.forEach((l) => log(l));
  files.log(end[0]);
  return summary;
}

interface Tested {
  metrics: MetricsFile;
  files: string[];
}

const pick = (targets: Float32Array) => saliencyPicks(targets, SALIENCY_IMAGES);

/**
 * Scores the test sets; a model that scores every image of a set alike ranks nothing, so that
 * is a failed run (experiments/run-health.ts), not an AUC of 0.5.
 */
async function evaluate(run: Run, net: TrainNetwork, tag: string): Promise<SetEvaluation[]> {
  const evals = await evaluateSets(net, run.data.tests, {
    backend: run.backend,
    batchSize: run.o.batchSize,
    numWorkers: run.o.numWorkers,
    pick,
  });
  for (const e of evals) {
    if (e.scores.length >= 2) {
      assertScoresVary(Float32Array.from(e.scores), 1, tag, `test set ${e.name}`);
    }
  }
  return evals;
}

/** A main loss far above a constant guess's (ln 2 for one logit) means training diverged. */
function checkLosses(trained: TrainedModel, tag: string): void {
  assertLossBounded(trained.records.map((r) => r.loss), Math.LN2, tag);
}

/** Writes the test half's files and figures. */
async function writeResults(
  run: Run,
  net: TrainNetwork,
  metrics: MetricsFile,
  evals: SetEvaluation[],
  featuresFrom: SetEvaluation[],
): Promise<string[]> {
  const { o, files } = run;
  const heading = `Test ${o.testNo}: ${run.method}`;
  const paths = await writeEvaluation(files.dirs.run, metrics, evals, featuresFrom, heading);
  const roc: RocFile = {};
  for (const e of evals) {
    if (Number.isFinite(e.metrics.auc)) roc[e.name] = rocCurve(e.scores, e.targets);
  }
  paths.push(
    ...await writeRunFigures({
      plotsDir: files.dirs.plots,
      title: `test ${o.testNo}, ${run.method}`,
      roc,
      records: files.readEpochs(),
      auxNames: net.heads.map((h) => `${h.spec.column} (${h.spec.method})`),
      net,
      evals: featuresFrom,
      normalisation: net.trunk.normalisation,
      backend: run.backend,
    }),
  );
  for (const e of evals) {
    const m = e.metrics;
    const auc = Number.isFinite(m.auc) ? m.auc.toFixed(4) : "— (one class)";
    const line = `test ${o.testNo} ${e.name}: AUC ${auc}, accuracy ${m.accuracy.toFixed(4)}, ` +
      `sensitivity ${m.sensitivity.toFixed(4)}, specificity ${m.specificity.toFixed(4)}, ` +
      `F1 ${m.f1.toFixed(4)} (${m.n} images, ${m.positives} melanoma)`;
    run.log(line);
    files.log(line);
  }
  return paths;
}

function relativeCheckpoint(run: Run, dir: string): string {
  return relative(run.files.dirs.weights, join(dir, "encoder.safetensors")) ||
    "encoder.safetensors";
}

async function trainAndTest(run: Run): Promise<Tested> {
  const { o, data } = run;
  const trained = await trainModel({
    options: o,
    backend: run.backend,
    train: data.train,
    val: data.val,
    augment: data.augment,
    weightsDir: run.files.dirs.weights,
    tag: o.testNo,
    files: run.files,
    earlierRecords: [],
    log: run.log,
  });
  try {
    checkLosses(trained, `test ${o.testNo}`);
    const evals = await evaluate(run, trained.net, `test ${o.testNo}`);
    const metrics = metricsFile(evals, {
      testNo: o.testNo,
      method: run.method,
      checkpoint: relativeCheckpoint(run, trained.weightsDir),
    });
    return { metrics, files: await writeResults(run, trained.net, metrics, evals, evals) };
  } finally {
    disposeTrainNetwork(trained.net);
  }
}

/** --test-only needs the run's weights: says where they were looked for and what makes them. */
function checkWeightsExist(o: TrainOptions, dir: string): void {
  const encoder = join(dir, "encoder.safetensors");
  if (!existsSync(encoder)) {
    throw new Error(
      `--test-only: no weights of test ${o.testNo} at ${encoder}; train it first ` +
        `(\`deno run -A cli.ts train --test-no ${o.testNo} ...\` with the run's options), ` +
        `or point --model-dir at the folder that holds ${o.testNo}/`,
    );
  }
}

async function evaluateOnly(run: Run): Promise<Tested> {
  const { o } = run;
  const dir = run.files.dirs.weights;
  const net = await buildTrainNetwork(
    { ...o, weights: undefined, pretrained: false },
    run.data.train.bias,
    run.backend,
  );
  try {
    await loadNetworkWeights(dir, net);
    run.log(`evaluate ${o.testNo}: weights from ${dir}`);
    const evals = await evaluate(run, net, `test ${o.testNo}`);
    const metrics = metricsFile(evals, {
      testNo: o.testNo,
      method: run.method,
      checkpoint: relativeCheckpoint(run, dir),
    });
    return { metrics, files: await writeResults(run, net, metrics, evals, evals) };
  } finally {
    disposeTrainNetwork(net);
  }
}

/** The rank of each score within its list, as a fraction (pandas' rank(pct=True), ties averaged). */
function percentRanks(scores: readonly number[]): number[] {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k][1]] = rank / scores.length;
    i = j + 1;
  }
  return ranks;
}

function safeAuc(scores: ArrayLike<number>, targets: ArrayLike<number>): number {
  try {
    return rocAuc(scores, targets);
  } catch {
    return NaN;
  }
}

function foldSet(data: TrainData, indices: number[], k: number): EvalSet {
  return {
    name: `fold${k + 1}`,
    dataset: subsetDataset(data.train, indices),
    imageNames: indices.map((i) => data.trainImageNames[i]),
  };
}

/**
 * --cv: five models, each trained without one fold and kept at its best validation AUC; the
 * test sets are scored by each and by their per-image average, and the held-out folds' pooled
 * predictions give the cross-validated scores.
 */
async function crossValidate(run: Run): Promise<Tested> {
  const { o, data } = run;
  if (!data.folds) {
    throw new Error(`--cv: --dataset ${o.dataset} gives no CV folds; drop --cv`);
  }
  const perFold: SetEvaluation[][] = [];
  const oof = { scores: [] as number[], targets: [] as number[], ranks: [] as number[] };
  const cv: CvScores = {
    bestValAuc: [],
    bestEpoch: [],
    auc: NaN,
    aucRankPerFold: NaN,
    accuracy: NaN,
  };
  const records = [];
  let kept: { net: TrainNetwork; evals: SetEvaluation[]; valAuc: number } | null = null;
  for (let k = 0; k < FOLDS; k++) {
    const rest: number[] = [], held: number[] = [];
    data.folds.forEach((f, i) => {
      if (f === k) held.push(i);
      else if (f >= 0) rest.push(i);
    });
    if (held.length === 0) throw new Error(`--cv: fold ${k} holds no training image`);
    const val = foldSet(data, held, k);
    const trained: TrainedModel = await trainModel({
      options: o,
      backend: run.backend,
      train: subsetDataset(data.train, rest),
      val,
      augment: data.augment,
      weightsDir: join(run.files.dirs.weights, `fold${k + 1}`),
      fold: k,
      tag: `${o.testNo} fold ${k + 1}/${FOLDS}`,
      files: run.files,
      earlierRecords: records,
      log: run.log,
    });
    records.push(...trained.records);
    let keep = false;
    try {
      const tag = `test ${o.testNo} fold ${k + 1}`;
      checkLosses(trained, tag);
      const evals = await evaluate(run, trained.net, tag);
      perFold.push(evals);
      const held = await predictSet(trained.net, val.dataset, {
        backend: run.backend,
        batchSize: o.batchSize,
        numWorkers: o.numWorkers,
      });
      oof.scores.push(...held.scores);
      oof.targets.push(...held.targets);
      oof.ranks.push(...percentRanks(Array.from(held.scores)));
      const valAuc = trained.best?.valAuc ?? NaN;
      cv.bestValAuc.push(valAuc);
      cv.bestEpoch.push(trained.best?.epoch ?? o.nEpochs);
      if (!kept || valAuc > kept.valAuc) {
        if (kept) disposeTrainNetwork(kept.net);
        kept = { net: trained.net, evals, valAuc };
        keep = true;
      }
    } finally {
      if (!keep) disposeTrainNetwork(trained.net);
    }
  }
  cv.auc = safeAuc(oof.scores, oof.targets);
  cv.aucRankPerFold = safeAuc(oof.ranks, oof.targets);
  cv.accuracy = thresholdMetrics(oof.scores, oof.targets).accuracy;
  const best = kept!;
  try {
    const evals = averageEvaluations(perFold);
    const metrics = metricsFile(evals, {
      testNo: o.testNo,
      method: run.method,
      checkpoint: `fold*/best/encoder.safetensors`,
      cv,
    }, perFold);
    const line = `test ${o.testNo} cross-validated: AUC ${cv.auc.toFixed(4)} (ranked per fold ` +
      `${cv.aucRankPerFold.toFixed(4)}), accuracy ${cv.accuracy.toFixed(4)}; best val AUC per ` +
      `fold ${cv.bestValAuc.map((v) => v.toFixed(3)).join(", ")}`;
    run.log(line);
    run.files.log(line);
    return { metrics, files: await writeResults(run, best.net, metrics, evals, best.evals) };
  } finally {
    disposeTrainNetwork(best.net);
  }
}

/** The summary printed at the end: the first line also goes to train.log. */
function summaryLines(s: TrainSummary): string[] {
  const sets = Object.entries(s.metrics.sets).map(([name, m]) =>
    `${name} ${Number.isFinite(m.auc) ? m.auc.toFixed(3) : "—"}`
  );
  return [
    `done: test ${s.testNo} (${s.method}) in ${formatDuration(s.seconds)}; AUC ${sets.join(", ")}`,
    `  run folder ${s.dirs.run} (metrics.md, metrics.json, roc.json, predictions.json, ` +
    `train.log, epochs.jsonl), weights ${s.dirs.weights}, figures ${s.dirs.plots}`,
  ];
}
