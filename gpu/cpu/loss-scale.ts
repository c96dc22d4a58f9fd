/**
 * CPU twins of gpu/shaders/loss-scale.wgsl: the overflow flag over a step's gradients and the
 * scale's update (PyTorch GradScaler's `_amp_update_scale_`), and what an optimiser update given
 * a LossScaling multiplies its gradients by.
 */

import { type HostStorage, LOSS_SCALE_SLOTS, type LossScaleParams } from "../types.ts";
import { f32 } from "./storage.ts";

const { found: FOUND, goodSteps: GOOD_STEPS, overflows: OVERFLOWS } = LOSS_SCALE_SLOTS;
const STATE_LENGTH = LOSS_SCALE_SLOTS.length;

/** A LossScaling's state holds STATE_LENGTH slots. */
export function checkState(op: string, state: { length: number }): void {
  if (state.length !== STATE_LENGTH) {
    throw new Error(`${op}: state of ${state.length} elements, not ${STATE_LENGTH}`);
  }
}

/** The op's storage arguments: scale f32 [1], state f32 [STATE_LENGTH]. */
export function checkScaling(op: string, scale: { length: number }, state: { length: number }) {
  if (scale.length !== 1 || state.length !== STATE_LENGTH) {
    throw new Error(
      `${op}: loss scaling needs a scale of 1 and a state of ${STATE_LENGTH} elements, ` +
        `got ${scale.length} and ${state.length}`,
    );
  }
}

/** Raises `state[FOUND]` when any element of any gradient is NaN or infinite. */
export function flagNonFinite(grads: readonly HostStorage[], state: HostStorage): void {
  checkState("flagNonFinite", state);
  const s = f32(state);
  for (const g of grads) {
    for (const v of f32(g)) {
      if (!Number.isFinite(v)) {
        s[FOUND] = 1;
        return;
      }
    }
  }
}

/** Ends a step: back off and count an overflow, or count a finite step and grow on schedule. */
export function updateLossScale(
  scale: HostStorage,
  state: HostStorage,
  p: LossScaleParams,
): void {
  checkScaling("updateLossScale", scale, state);
  const sc = f32(scale);
  const s = f32(state);
  if (s[FOUND] !== 0) {
    sc[0] = sc[0] * Math.fround(p.backoff);
    s[GOOD_STEPS] = 0;
    s[OVERFLOWS] += 1;
  } else {
    s[GOOD_STEPS] += 1;
    if (s[GOOD_STEPS] >= p.interval) {
      sc[0] = sc[0] * Math.fround(p.growth);
      s[GOOD_STEPS] = 0;
    }
  }
  s[FOUND] = 0;
}

/**
 * What an update given this scaling multiplies each gradient by: 1 / scale in f32, or null when
 * the step overflowed and the update is to be skipped.
 */
export function unscaleFactor(scaling: { scale: HostStorage; state: HostStorage }): number | null {
  checkScaling("optimiser", scaling.scale, scaling.state);
  if (f32(scaling.state)[FOUND] !== 0) return null;
  return Math.fround(1 / f32(scaling.scale)[0]);
}
