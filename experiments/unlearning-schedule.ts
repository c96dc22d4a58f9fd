/**
 * When the unlearning terms act during training. The study fine-tuned a trained network and
 * LNTL's code started its unlearning from a trained baseline; a trunk that learns from scratch
 * under a strong adversary can lose the lesion features with the artefact. So a schedule has
 *  - `baselineEpochs`: epochs of the plain baseline step first (no bias heads), after which the
 *    bias heads and fresh optimisers start from the trained weights: the study's "trained
 *    baseline, then debias" order. Every method of a comparison trains the same total number of
 *    epochs (the baseline method simply continues);
 *  - `warmupEpochs`: after that, lambda, alpha and the gradient-reversal scale ramp linearly from
 *    0 to their values over this many epochs, step by step (DANN's warm-up, linear);
 *  - `debiasLrFactor`: the learning rates of the unlearning stage relative to the baseline
 *    stage's (the study fine-tuned at lr 0.0003);
 *  - `lrDecay`: whether the unlearning stage's rates stay put or anneal to 0 (cosine), so that
 *    every method ends at settled weights rather than wherever its last batches left it.
 * Used by `synth` and available to any runner that owns an encoder, a main head and bias heads.
 * Both stages check every network tensor for NaN at each loss read-back, as the plain runner does.
 */

import type { Batch } from "../data/batch.ts";
import type { Backend } from "../gpu/backend.ts";
import type { Precision } from "../nn/autocast.ts";
import type { Layer } from "../nn/module.ts";
import { type DebiasSettings, resolveDebias } from "../debias/config.ts";
import type { BiasHead } from "../debias/heads.ts";
import { allOptimisers, type DebiasStep, makeDebiasStep } from "../debias/train-step.ts";
import { type EpochLosses, networkTensors, runDebiasEpochs } from "../debias/run-epoch.ts";
import { decayedStep, type LrDecay } from "../nn/optim/lr-decay.ts";

export interface UnlearningSchedule {
  /** Epochs of the plain baseline step before the bias heads start (0: from the first step). */
  baselineEpochs: number;
  /** Epochs over which the unlearning strengths ramp from 0 (0: full strength at once). */
  warmupEpochs: number;
  /** Learning-rate multiplier of the unlearning stage (1: the same lr throughout). */
  debiasLrFactor: number;
  /** The unlearning stage's lr over its steps (default constant). */
  lrDecay?: LrDecay;
}

/** The schedule of the study's synthetic runs so far: unlearning from the first step. */
export const FROM_SCRATCH: UnlearningSchedule = {
  baselineEpochs: 0,
  warmupEpochs: 0,
  debiasLrFactor: 1,
};

/** Checks a schedule's numbers, naming the bad one. */
export function checkSchedule(s: UnlearningSchedule, epochs: number): void {
  const bad = (what: string, v: number) => {
    throw new Error(`unlearning schedule: ${what} must be a finite number >= 0, got ${v}`);
  };
  if (!(Number.isInteger(s.baselineEpochs) && s.baselineEpochs >= 0)) {
    bad("baseline epochs", s.baselineEpochs);
  }
  if (!(s.warmupEpochs >= 0 && Number.isFinite(s.warmupEpochs))) bad("warm-up", s.warmupEpochs);
  if (!(s.debiasLrFactor > 0 && Number.isFinite(s.debiasLrFactor))) {
    bad("lr factor", s.debiasLrFactor);
  }
  if (!(Number.isInteger(epochs) && epochs >= 1)) {
    throw new Error(`unlearning schedule: epochs must be an integer >= 1, got ${epochs}`);
  }
}

/** The ramp of the unlearning strengths at a fractional epoch of the unlearning stage: 0..1. */
export function warmupFactor(epoch: number, warmupEpochs: number): number {
  if (warmupEpochs <= 0) return 1;
  return Math.min(1, Math.max(0, epoch / warmupEpochs));
}

/**
 * A step that sets lambda, alpha and the GRL scale of `settings` to `base` times the warm-up
 * factor before each call (the debias step reads them from `settings` at every call).
 */
export function warmedStep(
  step: DebiasStep,
  settings: DebiasSettings,
  warmupEpochs: number,
  stepsPerEpoch: number,
): DebiasStep {
  const base = { lambda: settings.lambda, alpha: settings.alpha, grlScale: settings.grlScale };
  let done = 0;
  return (batch) => {
    const f = warmupFactor((done + 1) / Math.max(1, stepsPerEpoch), warmupEpochs);
    settings.lambda = base.lambda * f;
    settings.alpha = base.alpha * f;
    settings.grlScale = base.grlScale * f;
    done++;
    return step(batch);
  };
}

/** A loader as the epoch runner needs it. */
export interface EpochSource {
  epoch(e: number): AsyncIterable<Batch> | Iterable<Batch>;
  readonly batchesPerEpoch: number;
}

export interface ScheduledRunOptions {
  encoder: Layer;
  main: Layer;
  heads: BiasHead[];
  settings: DebiasSettings;
  schedule: UnlearningSchedule;
  loader: EpochSource;
  backend: Backend;
  /** Epochs of the unlearning stage (the baseline stage comes on top). */
  epochs: number;
  readEvery?: number;
  tag: string;
  quiet?: boolean;
  log: (line: string) => void;
  /** Training precision (default f32); f16 brings a loss scaler per stage. */
  precision?: Precision;
}

/** The baseline stage's settings: the method's optimiser settings without heads. */
export function baselineSettings(s: DebiasSettings): DebiasSettings {
  return resolveDebias({
    debiasConfig: "baseline",
    lrBase: s.lrBase,
    lrClass: s.lrClass,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    momentumOnZeroedGrads: s.momentumOnZeroedGrads,
  });
}

/**
 * Trains the baseline stage only (`baselineEpochs` epochs from loader epoch 0), so that several
 * methods of one seed can start their unlearning stage from the same trained weights.
 */
export async function runBaselineStage(
  o: Omit<ScheduledRunOptions, "heads" | "epochs">,
): Promise<EpochLosses[]> {
  checkSchedule(o.schedule, 1);
  if (o.schedule.baselineEpochs === 0) return [];
  const { step, optimisers, scaler } = makeDebiasStep(
    { encoder: o.encoder, main: o.main, heads: [] },
    baselineSettings(o.settings),
    undefined,
    o.precision,
  );
  try {
    return await runDebiasEpochs({
      ...o,
      step,
      scaler,
      heads: [],
      parameters: networkTensors({ encoder: o.encoder, main: o.main, heads: [] }),
      epochs: o.schedule.baselineEpochs,
      tag: `${o.tag} (baseline stage)`,
    });
  } finally {
    for (const opt of allOptimisers(optimisers)) opt.dispose();
    scaler?.dispose();
  }
}

/**
 * The unlearning stage: loader epochs `baselineEpochs` onwards, the method's heads and fresh
 * optimisers at `debiasLrFactor` times its learning rates, strengths warmed up per the schedule.
 * `settings` is copied, never changed.
 */
export async function runUnlearningStage(o: ScheduledRunOptions): Promise<EpochLosses[]> {
  checkSchedule(o.schedule, o.epochs);
  const f = o.schedule.debiasLrFactor;
  const settings = {
    ...o.settings,
    lrBase: o.settings.lrBase * f,
    lrClass: o.settings.lrClass * f,
  };
  const made = makeDebiasStep(
    { encoder: o.encoder, main: o.main, heads: o.heads },
    settings,
    undefined,
    o.precision,
  );
  const offset = o.schedule.baselineEpochs;
  const warmed = warmedStep(made.step, settings, o.schedule.warmupEpochs, o.loader.batchesPerEpoch);
  const step = decayedStep(warmed, allOptimisers(made.optimisers), {
    decay: o.schedule.lrDecay ?? "constant",
    totalSteps: o.epochs * o.loader.batchesPerEpoch,
  });
  try {
    return await runDebiasEpochs({
      ...o,
      step,
      scaler: made.scaler,
      parameters: networkTensors({ encoder: o.encoder, main: o.main, heads: o.heads }),
      loader: {
        epoch: (e) => o.loader.epoch(e + offset),
        batchesPerEpoch: o.loader.batchesPerEpoch,
      },
    });
  } finally {
    for (const opt of allOptimisers(made.optimisers)) opt.dispose();
    made.scaler?.dispose();
  }
}

/** Both stages in order: the baseline stage, then the unlearning stage; all epochs' losses. */
export async function runScheduled(o: ScheduledRunOptions): Promise<EpochLosses[]> {
  const first = await runBaselineStage(o);
  return [...first, ...await runUnlearningStage(o)];
}
