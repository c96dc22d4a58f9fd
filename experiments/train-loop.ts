/**
 * A generic supervised epoch: per batch, loss -> backward -> optimiser step inside `tidy`, so
 * every intermediate is freed and a step runs in constant memory. Losses stay on the device and
 * are read back every `readEvery` steps with one `readMany`, so the GPU stalls once per group of
 * steps instead of once per step; the same read-back checks the parameters and gradients for NaN
 * and infinities (nn/finite-check.ts).
 */

import { ProgressBar, type ProgressOptions } from "../data/progress.ts";
import type { TypedArray } from "../gpu/backend.ts";
import { backward, noGrad } from "../nn/autograd.ts";
import { describePosition, FiniteProbe } from "../nn/finite-check.ts";
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
  /** The epoch's number as people count (1-based), for error messages (default 1). */
  epoch?: number;
  /**
   * Tensors checked for NaN and infinities (with their gradients) at every loss read-back;
   * default: the model's parameters and buffers.
   */
  parameters?: readonly (readonly [string, Tensor])[];
}

export interface EpochResult {
  steps: number;
  /** Loss of every step, in order. */
  losses: number[];
  meanLoss: number;
  seconds: number;
}

/**
 * Reads the pending losses back with the finite check of `parameters` in one round trip; a
 * non-finite loss or tensor throws naming the step and the epoch.
 */
async function drain(
  pending: Tensor[],
  into: number[],
  parameters: readonly (readonly [string, Tensor])[],
  epoch: number,
): Promise<void> {
  if (!pending.length) return;
  const probe = new FiniteProbe(parameters);
  let values: TypedArray[];
  try {
    values = await pending[0].backend.readMany([
      ...pending.map((t) => t.storage),
      ...probe.storages,
    ]);
  } catch (err) {
    probe.dispose();
    throw err;
  }
  const first = into.length;
  for (let i = 0; i < pending.length; i++) {
    const v = values[i][0];
    if (!Number.isFinite(v)) {
      probe.dispose();
      const where = describePosition({ step: first + i + 1, epoch });
      throw new Error(`training diverged at ${where}: the loss became ${v}`);
    }
    into.push(v);
  }
  await probe.settle(values.slice(pending.length), { step: into.length, epoch });
  for (const t of pending) t.dispose();
  pending.length = 0;
}

/**
 * Trains `model` for one pass over `batches`. A non-finite loss, parameter, buffer or gradient
 * stops it with an error naming the step and the epoch.
 */
export async function trainEpoch<B>(o: TrainEpochOptions<B>): Promise<EpochResult> {
  const readEvery = Math.max(1, o.readEvery ?? 10);
  const bar = o.progress === false || o.progress === undefined ? null : new ProgressBar({
    ...o.progress,
    label: o.label ?? "train",
    total: o.total,
    itemName: "batch",
  });
  const epoch = o.epoch ?? 1;
  const parameters = o.parameters ??
    [...o.model.namedParameters(), ...o.model.namedBuffers()];
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
      if (pending.length >= readEvery) await drain(pending, losses, parameters, epoch);
      bar?.increment();
    }
    await drain(pending, losses, parameters, epoch);
  } finally {
    for (const t of pending) t.dispose();
  }
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
