/**
 * Training one model of a run (the whole run, or one CV fold): the study's two-phase step over
 * the loader's epochs (debias/run-epoch.ts), a progress bar per epoch with the smoothed losses,
 * the validation AUC after each epoch, one record per epoch, a checkpoint every --save-epoch, and
 * --resume from the last one. Resuming gives exactly the run that was not interrupted: the
 * loader's epoch e is a function of the seed and e alone, and the checkpoint restores weights,
 * batch-norm statistics, every optimiser's momentum and the engine's random stream as they stood
 * when it was written (after the epoch's validation pass).
 *
 * A NaN or infinite loss or weight stops training with the step, the epoch and the head named;
 * the last checkpoint, written before, stays as it was.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Batch } from "../data/batch.ts";
import type { Dataset } from "../data/dataset.ts";
import { DataLoader } from "../data/loader.ts";
import { ProgressBar } from "../data/progress.ts";
import type { Backend } from "../gpu/backend.ts";
import { networkTensors, runDebiasEpoch, type StepValues } from "../debias/run-epoch.ts";
import { allOptimisers, type DebiasOptimisers, makeDebiasStep } from "../debias/train-step.ts";
import { decayedStep } from "../nn/optim/lr-decay.ts";
import type { EpochRecord } from "./run-layout.ts";
import {
  CHECKPOINT_FILE,
  loadNetworkWeights,
  loadTrainCheckpoint,
  readCheckpointInfo,
  saveNetworkWeights,
  saveTrainCheckpoint,
  type TrainProgress,
} from "./train-checkpoint.ts";
import { type EvalSet, loaderAugmentation, type TrainData } from "./train-data.ts";
import { setMetrics } from "./train-evaluate.ts";
import { epochLine, type RunFiles } from "./train-files.ts";
import { buildTrainNetwork, disposeTrainNetwork, type TrainNetwork } from "./train-network.ts";
import type { TrainOptions } from "./train-options.ts";
import { predictSet } from "./train-predict.ts";

/** --DEBUG: batches per epoch (and of the validation pass), as the study's debug sample. */
export const DEBUG_BATCHES = 3;

/** Options that may change between a run and its --resume: they do not alter what is computed. */
const RESUMABLE = new Set([
  "nEpochs",
  "resume",
  "quiet",
  "numWorkers",
  "readEvery",
  "backend",
  "CUDA_VISIBLE_DEVICES",
  "saveEpoch",
  "testOnly",
  "preset",
  "modelDir",
  "logDir",
  "plotDir",
  "hubUrl",
]);

export interface ModelContext {
  options: TrainOptions;
  backend: Backend;
  train: Dataset;
  val?: EvalSet;
  augment: TrainData["augment"];
  /** Where this model's checkpoint and weights go. */
  weightsDir: string;
  /** CV fold 0..4; absent for a run on all the training data. */
  fold?: number;
  /** Names the model in bars and log lines, e.g. "12" or "12 fold 2/5". */
  tag: string;
  files: RunFiles;
  /** Records of the run's earlier folds (epochs.jsonl holds every fold's). */
  earlierRecords: readonly EpochRecord[];
  log: (line: string) => void;
}

export interface TrainedModel {
  net: TrainNetwork;
  records: EpochRecord[];
  best?: { epoch: number; valAuc: number };
  /** The weights folder the evaluated weights were loaded from or saved to. */
  weightsDir: string;
}

/** The weights folder of a fold's best-validation-AUC model. */
export function bestDir(weightsDir: string): string {
  return join(weightsDir, "best");
}

/** Iterates at most `limit` batches of `source`, counting each on `bar`. */
async function* limited(
  source: AsyncIterable<Batch>,
  limit: number,
  bar: ProgressBar | null,
): AsyncGenerator<Batch> {
  let n = 0;
  for await (const b of source) {
    yield b;
    bar?.increment();
    if (++n >= limit) return;
  }
}

/** Exponential smoothing of the step losses, as tqdm smooths its rate (weight 0.1 per step). */
class SmoothedLosses {
  value: StepValues | null = null;
  add(steps: readonly StepValues[]): void {
    for (const s of steps) {
      if (!this.value) this.value = { total: s.total, main: s.main, aux: [...s.aux] };
      else {
        const v = this.value;
        v.total += 0.1 * (s.total - v.total);
        v.main += 0.1 * (s.main - v.main);
        v.aux = v.aux.map((a, k) => a + 0.1 * (s.aux[k] - a));
      }
    }
  }
  text(columns: readonly string[]): string {
    const v = this.value;
    if (!v) return "";
    const aux = v.aux.map((a, k) => ` ${columns[k]} ${a.toFixed(3)}`).join("");
    return `loss ${v.total.toFixed(3)} main ${v.main.toFixed(3)}${aux}`;
  }
}

/** Options newer than some checkpoints, with the value those checkpoints were trained with. */
const ADDED_LATER: Record<string, unknown> = { lrDecay: "constant", precision: "f32" };

/** Differences between the options of a checkpoint and this run that --resume cannot bridge. */
export function resumeConflicts(
  saved: Record<string, unknown>,
  now: TrainOptions,
): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(now)) {
    // A cosine curve spans the whole run, so its length is part of the computation.
    if (RESUMABLE.has(key) && !(key === "nEpochs" && now.lrDecay !== "constant")) continue;
    const was = key in saved ? saved[key] : ADDED_LATER[key];
    if (JSON.stringify(was) !== JSON.stringify(value)) {
      out.push(`${key}: checkpoint ${JSON.stringify(was)}, now ${JSON.stringify(value)}`);
    }
  }
  return out;
}

/** Validation AUC without TTA (NaN when the scored images hold one class). */
async function validationAuc(net: TrainNetwork, ctx: ModelContext): Promise<number | undefined> {
  if (!ctx.val) return undefined;
  const o = ctx.options;
  const s = await predictSet(net, ctx.val.dataset, {
    backend: ctx.backend,
    batchSize: o.batchSize,
    numWorkers: o.numWorkers,
    tta: false,
    limitBatches: o.DEBUG ? DEBUG_BATCHES : undefined,
  });
  const auc = setMetrics(s.scores, s.targets).auc;
  return Number.isFinite(auc) ? auc : undefined;
}

async function restore(
  ctx: ModelContext,
  net: TrainNetwork,
  optimisers: DebiasOptimisers,
  path: string,
): Promise<TrainProgress> {
  const o = ctx.options;
  if (!o.resume) return { epoch: 0, records: [] };
  if (!existsSync(path)) {
    ctx.log(`${ctx.tag}: --resume, but there is no checkpoint at ${path}: starting at epoch 1`);
    return { epoch: 0, records: [] };
  }
  const conflicts = resumeConflicts((await readCheckpointInfo(path)).options, o);
  if (conflicts.length) {
    throw new Error(
      `--resume: ${path} was written by a run with other options; start over without ` +
        `--resume, or resume with the same options:\n  ${conflicts.join("\n  ")}`,
    );
  }
  const { progress } = await loadTrainCheckpoint(path, net, optimisers);
  ctx.log(`${ctx.tag}: resumed from ${path} after epoch ${progress.epoch}`);
  return progress;
}

/** Trains (or resumes) one model; the caller owns and disposes the returned network. */
export async function trainModel(ctx: ModelContext): Promise<TrainedModel> {
  const o = ctx.options;
  const net = await buildTrainNetwork(o, ctx.train.bias, ctx.backend);
  const made = makeDebiasStep(net, net.settings, undefined, o.precision);
  const { optimisers } = made;
  const baseLrs = allOptimisers(optimisers).map((opt) => opt.lr);
  const loader = new DataLoader(ctx.train, {
    batchSize: o.batchSize,
    seed: o.seed,
    dropLast: true,
    numWorkers: o.numWorkers,
    ...loaderAugmentation({ augment: ctx.augment, train: ctx.train }),
  });
  const columns = net.heads.map((h) => h.spec.column);
  const checkpoint = join(ctx.weightsDir, CHECKPOINT_FILE);
  try {
    if (loader.batchesPerEpoch === 0) {
      throw new Error(
        `${ctx.tag}: ${ctx.train.length} training images make no full batch of --batch-size ` +
          `${o.batchSize}; lower --batch-size`,
      );
    }
    const progress = await restore(ctx, net, optimisers, checkpoint);
    if (made.scaler && progress.lossScale) made.scaler.load(progress.lossScale);
    const perEpoch = o.DEBUG
      ? Math.min(DEBUG_BATCHES, loader.batchesPerEpoch)
      : loader.batchesPerEpoch;
    const step = decayedStep(made.step, allOptimisers(optimisers), {
      decay: o.lrDecay,
      totalSteps: o.nEpochs * perEpoch,
      firstStep: progress.epoch * perEpoch,
      baseLrs,
    });
    for (let e = progress.epoch; e < o.nEpochs; e++) {
      const start = performance.now();
      const bar = o.quiet ? null : new ProgressBar({
        label: `${ctx.tag} epoch ${e + 1}/${o.nEpochs}`,
        total: perEpoch,
        itemName: "batch",
      });
      const smooth = new SmoothedLosses();
      let losses;
      try {
        losses = await runDebiasEpoch({
          step,
          heads: net.heads,
          backend: ctx.backend,
          batches: limited(loader.epoch(e), perEpoch, bar),
          readEvery: o.readEvery,
          epoch: e + 1,
          parameters: networkTensors(net),
          scaler: made.scaler,
          onLosses: (steps) => {
            smooth.add(steps);
            if (bar) bar.postfix = smooth.text(columns);
          },
        });
      } catch (err) {
        bar?.finish("stopped");
        throw stopped(err as Error, ctx, net, progress, checkpoint);
      }
      bar?.finish();
      const valAuc = await validationAuc(net, ctx);
      const record: EpochRecord = {
        epoch: e + 1,
        ...(ctx.fold === undefined ? {} : { fold: ctx.fold }),
        steps: losses.steps,
        loss: { total: losses.total, main: losses.main, aux: losses.aux },
        ...(valAuc === undefined ? {} : { valAuc }),
        ...(losses.lossScale
          ? { lossScale: { scale: losses.lossScale.scale, overflows: losses.lossScale.overflows } }
          : {}),
        seconds: (performance.now() - start) / 1000,
      };
      if (losses.lossScale) progress.lossScale = losses.lossScale;
      progress.records.push(record);
      progress.epoch = e + 1;
      ctx.files.writeEpochs([...ctx.earlierRecords, ...progress.records]);
      const line = `${ctx.tag}: ${epochLine(record, o.nEpochs, columns)}`;
      ctx.log(line);
      ctx.files.log(line);
      if (
        ctx.fold !== undefined && valAuc !== undefined && valAuc > (progress.best?.valAuc ?? -1)
      ) {
        progress.best = { epoch: e + 1, valAuc };
        await saveNetworkWeights(bestDir(ctx.weightsDir), net, { epoch: String(e + 1) });
      }
      if ((e + 1) % o.saveEpoch === 0 || e + 1 === o.nEpochs) {
        await saveTrainCheckpoint(checkpoint, net, optimisers, { progress, options: o });
        await saveNetworkWeights(ctx.weightsDir, net, { epoch: String(e + 1) });
      }
    }
    if (ctx.fold === undefined) {
      return { net, records: progress.records, weightsDir: ctx.weightsDir };
    }
    const best = bestDir(ctx.weightsDir);
    if (progress.best) await loadNetworkWeights(best, net, { heads: true });
    else await saveNetworkWeights(best, net, { epoch: String(progress.epoch) });
    return { net, records: progress.records, best: progress.best, weightsDir: best };
  } catch (err) {
    disposeTrainNetwork(net);
    throw err;
  } finally {
    loader.close();
    for (const opt of allOptimisers(optimisers)) opt.dispose();
    made.scaler?.dispose();
  }
}

/** The error of a run stopped in training: what broke, and the checkpoint that stays good. */
function stopped(
  err: Error,
  ctx: ModelContext,
  net: TrainNetwork,
  progress: TrainProgress,
  checkpoint: string,
): Error {
  const heads = /aux loss|head\d/.test(err.message)
    ? net.heads.map((h, k) => `head ${k + 1} is ${h.spec.method} on ${h.spec.column}`)
    : [];
  const last = existsSync(checkpoint)
    ? `the last good checkpoint is ${checkpoint} (epoch ${progress.epoch}); --resume continues ` +
      `from it`
    : "no checkpoint was written before";
  const message = `${ctx.tag}: training stopped in epoch ${progress.epoch + 1}: ${err.message}` +
    `${heads.length ? ` [${heads.join("; ")}]` : ""}; ${last}`;
  ctx.files.log(message);
  return new Error(message, { cause: err });
}
