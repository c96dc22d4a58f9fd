/**
 * One training epoch of a debiasing configuration: upload each batch, run the two-phase step,
 * and read the step losses back in groups with one `readMany`, so a GPU stalls once per
 * `readEvery` steps rather than every step. The same read-back checks the network's parameters
 * and gradients for NaN and infinities (nn/finite-check.ts), so a run stops where it broke; a
 * mixed-precision run reads its loss scale in the same round trip (nn/optim/loss-scaler.ts).
 * Also the step learning-rate schedule and batched evaluation that both experiments share.
 */

import type { Batch } from "../data/batch.ts";
import { ProgressBar } from "../data/progress.ts";
import type { Backend, TypedArray } from "../gpu/backend.ts";
import { noGrad } from "../nn/autograd.ts";
import { describePosition, FiniteProbe } from "../nn/finite-check.ts";
import type { Module } from "../nn/module.ts";
import { checkLossScale, LossScaler, type LossScalerSnapshot } from "../nn/optim/loss-scaler.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import {
  allOptimisers,
  type DebiasNetwork,
  type DebiasOptimisers,
  type DebiasStep,
  disposeLosses,
} from "./train-step.ts";
import { disposeBatch, type StepLosses, uploadBatch } from "./train-step.ts";
import type { BiasHead } from "./heads.ts";

export interface EpochLosses {
  steps: number;
  /** Means over the epoch's steps. */
  total: number;
  main: number;
  aux: number[];
  /** A mixed-precision run's loss scale and overflow count at the epoch's end. */
  lossScale?: LossScalerSnapshot;
}

export interface RunEpochOptions {
  step: DebiasStep;
  heads: readonly BiasHead[];
  backend: Backend;
  batches: AsyncIterable<Batch> | Iterable<Batch>;
  /** Steps between loss read-backs (default 20). */
  readEvery?: number;
  /** Batches per epoch, for the progress bar. */
  total?: number;
  /** Progress bar label; no bar when absent. */
  label?: string;
  /** The epoch's number as people count (1-based), for error messages (default 1). */
  epoch?: number;
  /**
   * Tensors checked for NaN and infinities at every loss read-back, with their gradients
   * (see {@link networkTensors}); none when absent.
   */
  parameters?: readonly (readonly [string, Tensor])[];
  /** Called after each read-back with the losses of the steps read, in order (progress bars). */
  onLosses?: (steps: StepValues[]) => void;
  /**
   * The step's loss scaler (makeDebiasStep at f16): read back with the losses, so a scale that
   * collapses stops the run; gradients are then left out of the finite check, since an
   * overflowing one is expected now and then and its update was skipped.
   */
  scaler?: LossScaler | null;
}

/** One step's losses as read back: the phase-1 total, the main loss, each head's. */
export interface StepValues {
  total: number;
  main: number;
  aux: number[];
}

/** Every parameter and buffer of a debiasing network, named `encoder.*`, `main.*`, `head1.*`... */
export function networkTensors(net: DebiasNetwork): [string, Tensor][] {
  const of = (m: Module, prefix: string): [string, Tensor][] => [
    ...m.namedParameters(prefix),
    ...m.namedBuffers(prefix),
  ];
  return [
    ...of(net.encoder, "encoder"),
    ...of(net.main, "main"),
    ...net.heads.flatMap((h, i) => of(h.module, `head${i + 1}`)),
  ];
}

interface Drain {
  pending: StepLosses[];
  sums: number[];
  backend: Backend;
  /** Steps run so far this epoch, including the pending ones. */
  steps: number;
  epoch: number;
  parameters: readonly (readonly [string, Tensor])[];
  onLosses?: (steps: StepValues[]) => void;
  scaler: LossScaler | null;
  lossScale?: LossScalerSnapshot;
}

/**
 * Reads the pending losses back in one round trip, with the finite check of the parameters;
 * a non-finite loss or tensor stops training with an error naming the step and the epoch.
 */
async function drain(d: Drain): Promise<void> {
  const { pending, sums } = d;
  if (pending.length === 0) return;
  const list = pending.flatMap((l) => [l.total, l.main, ...l.aux]);
  const probe = new FiniteProbe(d.parameters, { gradients: !d.scaler });
  const scaleAt = list.length + probe.storages.length;
  let values: TypedArray[];
  try {
    values = await d.backend.readMany([
      ...list.map((t) => t.storage),
      ...probe.storages,
      ...(d.scaler?.storages ?? []),
    ]);
  } catch (err) {
    probe.dispose();
    throw err;
  }
  const width = 2 + pending[0].aux.length;
  const firstStep = d.steps - pending.length + 1;
  for (let i = 0; i < list.length; i++) {
    const v = values[i][0];
    if (!Number.isFinite(v)) {
      probe.dispose();
      const what = ["loss", "main loss", ...pending[0].aux.map((_, k) => `aux loss ${k + 1}`)];
      const where = describePosition({ step: firstStep + Math.floor(i / width), epoch: d.epoch });
      throw new Error(`training diverged at ${where}: ${what[i % width]} became ${v}`);
    }
    sums[i % width] += v;
  }
  await probe.settle(values.slice(list.length, scaleAt), { step: d.steps, epoch: d.epoch });
  if (d.scaler) {
    d.lossScale = LossScaler.read(values.slice(scaleAt));
    checkLossScale(d.lossScale, describePosition({ step: d.steps, epoch: d.epoch }));
  }
  d.onLosses?.(pending.map((_, k) => {
    const row = values.slice(k * width, (k + 1) * width).map((v) => v[0]);
    return { total: row[0], main: row[1], aux: row.slice(2) };
  }));
  pending.forEach(disposeLosses);
  pending.length = 0;
}

/** Trains one epoch; returns the mean losses. A non-finite loss or parameter stops it. */
export async function runDebiasEpoch(o: RunEpochOptions): Promise<EpochLosses> {
  const readEvery = Math.max(1, o.readEvery ?? 20);
  const sums = new Array<number>(2 + o.heads.length).fill(0);
  const pending: StepLosses[] = [];
  const bar = o.label
    ? new ProgressBar({ label: o.label, total: o.total, itemName: "batch" })
    : null;
  const d: Drain = {
    pending,
    sums,
    backend: o.backend,
    steps: 0,
    epoch: o.epoch ?? 1,
    parameters: o.parameters ?? [],
    onLosses: o.onLosses,
    scaler: o.scaler ?? null,
  };
  try {
    for await (const batch of o.batches) {
      if (batch.shape[0] < 2) continue; // batch norm needs two values per channel
      const device = uploadBatch(batch, o.heads, o.backend);
      try {
        pending.push(o.step(device));
      } finally {
        disposeBatch(device);
      }
      d.steps++;
      if (pending.length >= readEvery) await drain(d);
      bar?.increment();
    }
    await drain(d);
  } finally {
    pending.forEach(disposeLosses);
  }
  bar?.finish();
  const steps = d.steps;
  const mean = (s: number) => (steps ? s / steps : NaN);
  const means = { steps, total: mean(sums[0]), main: mean(sums[1]), aux: sums.slice(2).map(mean) };
  return d.lossScale ? { ...means, lossScale: d.lossScale } : means;
}

/**
 * The step schedule (PyTorch's StepLR): every optimiser's lr is its base times
 * `gamma^floor(epoch / every)`. `every` 0 keeps the lr constant.
 */
export function applyStepSchedule(
  opt: DebiasOptimisers,
  baseLrs: readonly number[],
  epoch: number,
  every: number,
  gamma = 0.1,
): void {
  const factor = every > 0 ? gamma ** Math.floor(epoch / every) : 1;
  allOptimisers(opt).forEach((o, i) => (o.lr = baseLrs[i] * factor));
}

/**
 * Runs `fn` over `images` (NCHW) in eval-mode chunks without a graph and returns each output
 * read back to the host, concatenated along the batch axis.
 */
export async function mapBatches(
  images: Float32Array,
  shape: readonly [number, number, number, number],
  backend: Backend,
  batchSize: number,
  fn: (x: Tensor) => Tensor[],
): Promise<Float32Array[]> {
  const [n, c, h, w] = shape;
  const per = c * h * w;
  const parts: Float32Array[][] = [];
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const outs = noGrad(() =>
      tidy(() => {
        const x = tensor(images.subarray(start * per, (start + m) * per), [m, c, h, w], {
          backend,
        });
        return fn(x);
      })
    );
    const values = await backend.readMany(outs.map((t) => t.storage));
    outs.forEach((t) => t.dispose());
    parts.push(values.map((v) => v as Float32Array));
  }
  if (parts.length === 0) return [];
  return parts[0].map((_, k) => {
    const total = parts.reduce((a, p) => a + p[k].length, 0);
    const out = new Float32Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p[k], at);
      at += p[k].length;
    }
    return out;
  });
}

export interface RunEpochsOptions extends Omit<RunEpochOptions, "batches" | "total" | "label"> {
  loader: {
    epoch(e: number): AsyncIterable<Batch> | Iterable<Batch>;
    readonly batchesPerEpoch: number;
  };
  epochs: number;
  /** Names the run in progress bars and log lines. */
  tag: string;
  quiet?: boolean;
  log: (line: string) => void;
  /** Runs before each epoch, e.g. the learning-rate schedule. */
  beforeEpoch?: (epoch: number) => void;
}

/** Trains `epochs` epochs, logging each epoch's mean losses; returns them in order. */
export async function runDebiasEpochs(o: RunEpochsOptions): Promise<EpochLosses[]> {
  const epochs: EpochLosses[] = [];
  for (let e = 0; e < o.epochs; e++) {
    o.beforeEpoch?.(e);
    let losses: EpochLosses;
    try {
      losses = await runDebiasEpoch({
        ...o,
        epoch: e + 1,
        batches: o.loader.epoch(e),
        total: o.loader.batchesPerEpoch,
        label: o.quiet ? undefined : `${o.tag} epoch ${e + 1}/${o.epochs}`,
      });
    } catch (err) {
      // The run's name goes in front, so "training diverged at step 3 of epoch 2" says whose.
      if (err instanceof Error) err.message = `${o.tag}: ${err.message}`;
      throw err;
    }
    epochs.push(losses);
    const aux = losses.aux.map((a) => a.toFixed(3)).join("/");
    const scale = losses.lossScale ? `, ${lossScaleText(losses.lossScale)}` : "";
    o.log(
      `${o.tag} epoch ${e + 1}: loss ${losses.total.toFixed(4)}${aux ? ` aux ${aux}` : ""}${scale}`,
    );
  }
  return epochs;
}

/** "loss scale 2^15, 3 steps skipped (overflow)", for epoch log lines. */
export function lossScaleText(s: Pick<LossScalerSnapshot, "scale" | "overflows">): string {
  const log2 = Math.log2(s.scale);
  const scale = Number.isInteger(log2) ? `2^${log2}` : String(s.scale);
  const skipped = s.overflows === 1 ? "1 step" : `${s.overflows} steps`;
  return `loss scale ${scale}, ${skipped} skipped (overflow)`;
}
