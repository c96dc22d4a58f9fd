/**
 * Where a `train` run puts its files and what each JSON file holds: the one contract between the
 * run loop that writes them and the plots, `evaluate` and `report` that read them. The study kept
 * weights, logs and plots under three roots (--model-dir, --log-dir, --plot-dir); each run gets a
 * folder named by its --test-no under each root, and the log folder is "the run folder": it holds
 * config.json, which records the other two.
 */

import { join } from "node:path";

export interface RunDirs {
  /** <log-dir>/<test-no>: config, log, metrics, ROC points, predictions, features. */
  run: string;
  /** <model-dir>/<test-no>: checkpoints. */
  weights: string;
  /** <plot-dir>/<test-no>: SVG and PNG figures, saliency maps. */
  plots: string;
}

export interface RunRoots {
  modelDir: string;
  logDir: string;
  plotDir: string;
}

/** The run's three folders for a test number (a string: presets such as "21-rulers"). */
export function runDirs(roots: RunRoots, testNo: string): RunDirs {
  return {
    run: join(roots.logDir, testNo),
    weights: join(roots.modelDir, testNo),
    plots: join(roots.plotDir, testNo),
  };
}

/** File names inside the run folder. */
export const RUN_FILES = {
  /** {@link RunConfigFile}. */
  config: "config.json",
  /** One human-readable line per epoch (and the start and end of the run). */
  log: "train.log",
  /** {@link EpochRecord} per line. */
  epochs: "epochs.jsonl",
  /** {@link MetricsFile}. */
  metrics: "metrics.json",
  /** The metrics as a Markdown table. */
  metricsMarkdown: "metrics.md",
  /** {@link RocFile}. */
  roc: "roc.json",
  /** {@link PredictionsFile}. */
  predictions: "predictions.json",
  /** Per test set: `features/<set>.safetensors`, see {@link FEATURE_TENSORS}. */
  featuresDir: "features",
} as const;

/** config.json: the resolved options and where each came from. */
export interface RunConfigFile {
  testNo: string;
  /** e.g. "CLGR", "LNTL+GRL", "baseline". */
  method: string;
  /** Every train option after defaults, preset and command line were merged. */
  options: Record<string, unknown>;
  /** Per option key: "default", "preset" or "command line". */
  sources: Record<string, "default" | "preset" | "command line" | "synth default">;
  dirs: RunDirs;
  backend: string;
  /** ISO time of the start. */
  started: string;
  /** Bias heads as trained: label column, classes, method. */
  heads: { column: string; classes: number; method: string }[];
}

/** One line of epochs.jsonl. */
export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** CV fold (0..4) under --cv; absent otherwise. */
  fold?: number;
  steps: number;
  /** Mean losses over the epoch: total, main, and one per bias head in head order. */
  loss: { total: number; main: number; aux: number[] };
  /** Validation AUC when a validation set exists. */
  valAuc?: number;
  /** Under --precision f16: the loss scale and the steps skipped so far, at the epoch's end. */
  lossScale?: { scale: number; overflows: number };
  seconds: number;
}

/** Metrics of one test set, predictions averaged over the 8 flip/transpose TTA variants. */
export interface SetMetrics {
  n: number;
  positives: number;
  auc: number;
  accuracy: number;
  sensitivity: number;
  specificity: number;
  f1: number;
}

/** metrics.json. */
export interface MetricsFile {
  testNo: string;
  method: string;
  /** Which checkpoint was evaluated (path relative to the weights folder). */
  checkpoint: string;
  /** Set name (e.g. "atlas_dermoscopic", "plain", "marked") to its metrics. */
  sets: Record<string, SetMetrics>;
  /** Under --cv: per fold, the same per-set metrics of that fold's best-val-AUC checkpoint. */
  folds?: Record<string, SetMetrics>[];
  /** Under --cv: the cross-validated scores of the held-out folds (the study's cv_scores). */
  cv?: CvScores;
}

/** Cross-validated scores: each fold's best model on its own held-out fold, with 8-fold TTA. */
export interface CvScores {
  /** Per fold, the best validation AUC during training (no TTA) and its epoch. */
  bestValAuc: number[];
  bestEpoch: number[];
  /** AUC of the pooled out-of-fold predictions. */
  auc: number;
  /** The same after ranking the predictions within each fold (the study's auc_rpf). */
  aucRankPerFold: number;
  /** Accuracy at 0.5 of the pooled out-of-fold predictions. */
  accuracy: number;
}

/** roc.json: per test set, the ROC points (thresholds highest first, from (0, 0)). */
export type RocFile = Record<string, { fpr: number[]; tpr: number[]; thresholds: number[] }>;

/** predictions.json: per test set, the TTA-averaged sigmoid scores, the targets and the images. */
export type PredictionsFile = Record<string, {
  imageNames: string[];
  scores: number[];
  targets: number[];
  /** Bias labels of the set's images where known (marked, scale, instrument; -1 unknown). */
  bias: Record<string, number[]>;
}>;

/**
 * Tensors of `features/<set>.safetensors`: `features` [N, D] f32 pooled trunk features of the
 * un-augmented images in eval mode, `target` [N] i32, and one [N] i32 per known bias label
 * (`marked`, `scale`, `instrument`; -1 unknown). The report's bias audit fits linear probes on
 * them.
 */
export const FEATURE_TENSORS = ["features", "target"] as const;
