/**
 * One training epoch of a debiasing configuration: upload each batch, run the two-phase step,
 * and read the step losses back in groups with one `readMany`, so a GPU stalls once per
 * `readEvery` steps rather than every step. Also the step learning-rate schedule and batched
 * evaluation that both experiments share.
 */

import type { Batch } from "../data/batch.ts";
import { ProgressBar } from "../data/progress.ts";
import type { Backend } from "../gpu/backend.ts";
import { noGrad } from "../nn/autograd.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import {
  allOptimisers,
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
}

async function drain(pending: StepLosses[], sums: number[], backend: Backend): Promise<void> {
  if (pending.length === 0) return;
  const list = pending.flatMap((l) => [l.total, l.main, ...l.aux]);
  const values = await backend.readMany(list.map((t) => t.storage));
  const width = 2 + pending[0].aux.length;
  values.forEach((v, i) => {
    if (!Number.isFinite(v[0])) {
      const what = ["loss", "main loss", ...pending[0].aux.map((_, k) => `aux loss ${k + 1}`)];
      throw new Error(`training diverged: ${what[i % width]} became ${v[0]}`);
    }
    sums[i % width] += v[0];
  });
  pending.forEach(disposeLosses);
  pending.length = 0;
}

/** Trains one epoch; returns the mean losses. A non-finite loss stops it with an error. */
export async function runDebiasEpoch(o: RunEpochOptions): Promise<EpochLosses> {
  const readEvery = Math.max(1, o.readEvery ?? 20);
  const sums = new Array<number>(2 + o.heads.length).fill(0);
  const pending: StepLosses[] = [];
  const bar = o.label
    ? new ProgressBar({ label: o.label, total: o.total, itemName: "batch" })
    : null;
  let steps = 0;
  try {
    for await (const batch of o.batches) {
      if (batch.shape[0] < 2) continue; // batch norm needs two values per channel
      const device = uploadBatch(batch, o.heads, o.backend);
      try {
        pending.push(o.step(device));
      } finally {
        disposeBatch(device);
      }
      steps++;
      if (pending.length >= readEvery) await drain(pending, sums, o.backend);
      bar?.increment();
    }
    await drain(pending, sums, o.backend);
  } finally {
    pending.forEach(disposeLosses);
  }
  bar?.finish();
  const mean = (s: number) => (steps ? s / steps : NaN);
  return { steps, total: mean(sums[0]), main: mean(sums[1]), aux: sums.slice(2).map(mean) };
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
    const losses = await runDebiasEpoch({
      ...o,
      batches: o.loader.epoch(e),
      total: o.loader.batchesPerEpoch,
      label: o.quiet ? undefined : `${o.tag} epoch ${e + 1}/${o.epochs}`,
    });
    epochs.push(losses);
    const aux = losses.aux.map((a) => a.toFixed(3)).join("/");
    o.log(`${o.tag} epoch ${e + 1}: loss ${losses.total.toFixed(4)}${aux ? ` aux ${aux}` : ""}`);
  }
  return epochs;
}
