/**
 * A generic supervised epoch: per batch, loss -> backward -> optimiser step inside `tidy`, so
 * every intermediate is freed and a step runs in constant memory. Losses stay on the device and
 * are read back every `readEvery` steps with one `readMany`, so the GPU stalls once per group of
 * steps instead of once per step.
 */

import { ProgressBar, type ProgressOptions } from "../data/progress.ts";
import { backward, noGrad } from "../nn/autograd.ts";
import type { Module } from "../nn/module.ts";
import type { Optimizer } from "../nn/optim/optimizer.ts";
import { tidy } from "../nn/scope.ts";
import type { Tensor } from "../nn/tensor.ts";

/** Where the progress bar writes; false (the default) shows none. */
export type ProgressSetting = false | Omit<ProgressOptions, "label" | "total">;

export interface TrainEpochOptions<B> {
  model: Module;
  optimizer: Optimizer;
  batches: Iterable<B> | AsyncIterable<B>;
  /** The scalar loss of one batch; called inside `tidy` with the model in training mode. */
  loss: (batch: B) => Tensor;
  /** Steps between loss read-backs (default 10). */
  readEvery?: number;
  /** Number of batches, for the progress bar's percentage and ETA. */
  total?: number;
  label?: string;
  progress?: ProgressSetting;
  /** Called before each step with its 0-based index in this epoch (learning-rate schedules). */
  beforeStep?: (index: number) => void;
}

export interface EpochResult {
  steps: number;
  /** Loss of every step, in order. */
  losses: number[];
  meanLoss: number;
  seconds: number;
}

async function drain(pending: Tensor[], into: number[]): Promise<void> {
  if (!pending.length) return;
  const values = await pending[0].backend.readMany(pending.map((t) => t.storage));
  for (const v of values) into.push(v[0]);
  for (const t of pending) t.dispose();
  pending.length = 0;
}

/** Trains `model` for one pass over `batches`; a non-finite loss stops it with an error. */
export async function trainEpoch<B>(o: TrainEpochOptions<B>): Promise<EpochResult> {
  const readEvery = Math.max(1, o.readEvery ?? 10);
  const bar = o.progress === false || o.progress === undefined ? null : new ProgressBar({
    ...o.progress,
    label: o.label ?? "train",
    total: o.total,
    itemName: "batch",
  });
  const start = performance.now();
  const losses: number[] = [];
  const pending: Tensor[] = [];
  o.model.train();
  try {
    for await (const batch of o.batches) {
      o.beforeStep?.(losses.length + pending.length);
      const loss = tidy(() => {
        o.optimizer.zeroGrad();
        const l = o.loss(batch);
        if (l.size !== 1) throw new Error(`training loss must be a scalar, got [${l.shape}]`);
        backward(l);
        o.optimizer.step();
        return l;
      });
      pending.push(loss);
      if (pending.length >= readEvery) {
        const before = losses.length;
        await drain(pending, losses);
        const bad = losses.findIndex((v, i) => i >= before && !Number.isFinite(v));
        if (bad >= 0) throw new Error(`training loss became ${losses[bad]} at step ${bad + 1}`);
      }
      bar?.increment();
    }
    await drain(pending, losses);
  } finally {
    for (const t of pending) t.dispose();
  }
  const bad = losses.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`training loss became ${losses[bad]} at step ${bad + 1}`);
  const meanLoss = losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length);
  bar?.finish(`loss ${meanLoss.toFixed(4)}`);
  return { steps: losses.length, losses, meanLoss, seconds: (performance.now() - start) / 1000 };
}

export interface EvaluateOptions<B> {
  model: Module;
  batches: Iterable<B> | AsyncIterable<B>;
  /** Logits [N, classes] of one batch; called in eval mode without a graph. */
  logits: (batch: B) => Tensor;
  /** The true class of each row of the batch. */
  labels: (batch: B) => ArrayLike<number>;
}

/** Top-1 accuracy over `batches` (argmax on the host: one read per batch). */
export async function evaluateAccuracy<B>(o: EvaluateOptions<B>): Promise<number> {
  const wasTraining = o.model.training;
  o.model.eval();
  let correct = 0;
  let count = 0;
  try {
    for await (const batch of o.batches) {
      const logits = noGrad(() => tidy(() => o.logits(batch)));
      const [rows, cols] = logits.shape;
      const values = await logits.data();
      logits.dispose();
      const labels = o.labels(batch);
      if (labels.length !== rows) {
        throw new Error(`evaluate: ${rows} logit rows but ${labels.length} labels`);
      }
      for (let r = 0; r < rows; r++) {
        let best = 0;
        for (let c = 1; c < cols; c++) if (values[r * cols + c] > values[r * cols + best]) best = c;
        if (best === labels[r]) correct++;
      }
      count += rows;
    }
  } finally {
    o.model.train(wasTraining);
  }
  if (count === 0) throw new Error("evaluate: no batches");
  return correct / count;
}
