/**
 * Learning-rate decay over a run. A constant rate leaves the last weights wherever the final
 * mini-batches threw them, so two seeds (or two methods of one seed) differ by that noise as
 * much as by what they learnt; annealing to zero (cosine, as in SGDR without restarts) ends
 * every run at a settled point, which is what a comparison between methods needs.
 */

import type { Optimizer } from "./optimizer.ts";

/** How the learning rate moves over a stage: held, or annealed to 0 along a half cosine. */
export type LrDecay = "constant" | "cosine";

/** The choices, for option parsers. */
export const LR_DECAYS = ["constant", "cosine"] as const satisfies readonly LrDecay[];

/** The lr multiplier of step `step` (0-based) of `total`: 1 at the start, near 0 at the end. */
export function lrDecayFactor(decay: LrDecay, step: number, total: number): number {
  if (decay === "constant" || total <= 0) return 1;
  const t = Math.min(Math.max(step, 0), total) / total;
  return 0.5 * (1 + Math.cos(Math.PI * t));
}

/** Where a decayed step sits on the curve. */
export interface DecayPlan {
  decay: LrDecay;
  totalSteps: number;
  /** Index of the first call (a resumed run continues the curve); default 0. */
  firstStep?: number;
  /** The starting rates, one per optimiser; default their rates now (a restored checkpoint
   * holds already-decayed rates, so a resumed run passes the fresh optimisers' ones). */
  baseLrs?: readonly number[];
}

/**
 * Wraps a training step so that each call first sets every optimiser's lr to its starting lr
 * times the decay factor of the step's index.
 */
export function decayedStep<A extends unknown[], R>(
  step: (...args: A) => R,
  optimisers: readonly Optimizer[],
  plan: DecayPlan,
): (...args: A) => R {
  if (plan.decay === "constant") return step;
  const base = plan.baseLrs ?? optimisers.map((o) => o.lr);
  if (base.length !== optimisers.length) {
    throw new Error(`lr decay: ${base.length} base rates for ${optimisers.length} optimisers`);
  }
  let index = plan.firstStep ?? 0;
  return (...args: A) => {
    const f = lrDecayFactor(plan.decay, index, plan.totalSteps);
    optimisers.forEach((o, k) => (o.lr = base[k] * f));
    index++;
    return step(...args);
  };
}
