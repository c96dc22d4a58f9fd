/**
 * Dynamic loss scaling for mixed precision (nn/autocast.ts), PyTorch GradScaler's rules kept on
 * the device so a step needs no read-back. Half's smallest normal value is 6e-5, so small
 * gradients of an f16 GEMM flush to zero; the loss is multiplied by a power of two before
 * backward, every gradient comes out that much larger, and the optimiser kernel divides it back
 * out before the f32 master weights move. When a gradient overflows (inf or NaN), the update is
 * skipped on the device and the scale halves; after `growthInterval` finite steps it doubles.
 *
 * A step of several optimisers and backward passes (debias/train-step.ts's two phases) scales
 * each loss, calls {@link LossScaler.step} for each optimiser and {@link LossScaler.update}
 * once at the end: an overflow anywhere skips that update and every later one of the step.
 * Skipped updates still count in the host's step numbers (Adam's bias correction, SGD's first
 * momentum step), which the host cannot know without a read-back.
 */

import {
  type Backend,
  LOSS_SCALE_SLOTS,
  type LossScaleParams,
  type LossScaling,
  type Storage,
  type TypedArray,
} from "../../gpu/backend.ts";
import { mul } from "../ops/elementwise.ts";
import { reshape } from "../ops/layout.ts";
import { keep } from "../scope.ts";
import { type Tensor, tensor } from "../tensor.ts";
import type { Optimizer } from "./optimizer.ts";

export interface LossScalerOptions {
  /** PyTorch's default 2^16. */
  initScale?: number;
  /** 2 */
  growthFactor?: number;
  /** 0.5 */
  backoffFactor?: number;
  /** Finite steps before the scale grows (2000). */
  growthInterval?: number;
}

/** The scaler's state as read back: for logs and checkpoints. */
export interface LossScalerSnapshot {
  scale: number;
  /** Finite steps since the scale last changed. */
  goodSteps: number;
  /** Steps skipped for overflowing gradients, in all. */
  overflows: number;
}

/** Below this the gradients overflow half even unscaled: the run is diverging, not unlucky. */
export const MIN_HEALTHY_SCALE = 1;

function checkOptions(o: Required<LossScalerOptions>): void {
  const bad = (what: string, v: number) => {
    throw new Error(`loss scaler: invalid ${what} ${v}`);
  };
  if (!(o.initScale > 0 && Number.isFinite(o.initScale))) bad("initial scale", o.initScale);
  if (!(o.growthFactor > 1 && Number.isFinite(o.growthFactor))) {
    bad("growth factor", o.growthFactor);
  }
  if (!(o.backoffFactor > 0 && o.backoffFactor < 1)) bad("backoff factor", o.backoffFactor);
  if (!(Number.isInteger(o.growthInterval) && o.growthInterval >= 1)) {
    bad("growth interval", o.growthInterval);
  }
}

export class LossScaler {
  readonly backend: Backend;
  readonly schedule: LossScaleParams;
  #scale: Tensor;
  #state: Tensor;
  /** Gradient storages flagged since the last update. */
  readonly #checked = new Set<Storage>();

  constructor(backend: Backend, options: LossScalerOptions = {}) {
    const o: Required<LossScalerOptions> = {
      initScale: 2 ** 16,
      growthFactor: 2,
      backoffFactor: 0.5,
      growthInterval: 2000,
      ...options,
    };
    checkOptions(o);
    this.backend = backend;
    this.schedule = {
      growth: o.growthFactor,
      backoff: o.backoffFactor,
      interval: o.growthInterval,
    };
    [this.#scale, this.#state] = this.#make({ scale: o.initScale, goodSteps: 0, overflows: 0 });
  }

  #make(s: LossScalerSnapshot): [Tensor, Tensor] {
    const on = { backend: this.backend };
    const state = new Float32Array(LOSS_SCALE_SLOTS.length);
    state[LOSS_SCALE_SLOTS.goodSteps] = s.goodSteps;
    state[LOSS_SCALE_SLOTS.overflows] = s.overflows;
    return [
      keep(tensor(Float32Array.of(s.scale), [1], on)),
      keep(tensor(state, [state.length], on)),
    ];
  }

  /** What the optimiser kernels are handed. */
  get scaling(): LossScaling {
    return { scale: this.#scale.storage, state: this.#state.storage };
  }

  /** The loss times the current scale: run backward on this, not on the loss. */
  scale(loss: Tensor): Tensor {
    return reshape(mul(loss, this.#scale), loss.shape);
  }

  /**
   * Flags an overflow in `optimizer`'s gradients, then steps it with them unscaled (or not). A
   * gradient already checked this step (two optimisers sharing the encoder) is not checked again.
   */
  step(optimizer: Optimizer): void {
    const grads = optimizer.params.flatMap((p) =>
      p.grad && !this.#checked.has(p.grad.storage) ? [p.grad.storage] : []
    );
    for (const g of grads) this.#checked.add(g);
    if (grads.length > 0) this.backend.flagNonFinite(grads, this.#state.storage);
    optimizer.step(this.scaling);
  }

  /** Ends a step: the scale backs off after an overflow, or grows on schedule. */
  update(): void {
    this.#checked.clear();
    this.backend.updateLossScale(this.#scale.storage, this.#state.storage, this.schedule);
  }

  /** The two storages to read back (with the losses, in one readMany); see {@link read}. */
  get storages(): [LossScaling["scale"], LossScaling["state"]] {
    return [this.#scale.storage, this.#state.storage];
  }

  /** The snapshot in the read-back values of {@link storages}. */
  static read([scale, state]: readonly TypedArray[]): LossScalerSnapshot {
    return {
      scale: scale[0],
      goodSteps: state[LOSS_SCALE_SLOTS.goodSteps],
      overflows: state[LOSS_SCALE_SLOTS.overflows],
    };
  }

  /** Reads the state back (a GPU waits for its queue). */
  async snapshot(): Promise<LossScalerSnapshot> {
    return LossScaler.read(await this.backend.readMany(this.storages));
  }

  /** Resumes from a checkpoint's snapshot. */
  load(s: LossScalerSnapshot): void {
    if (!(s.scale > 0 && Number.isFinite(s.scale))) {
      throw new Error(`loss scaler: cannot resume from scale ${s.scale}`);
    }
    const fresh = this.#make(s);
    this.dispose();
    [this.#scale, this.#state] = fresh;
  }

  dispose(): void {
    this.#scale.dispose();
    this.#state.dispose();
  }
}

/** Stops a run whose gradients overflow at every scale: the model is diverging. */
export function checkLossScale(s: LossScalerSnapshot, where: string): void {
  if (s.scale < MIN_HEALTHY_SCALE) {
    throw new Error(
      `training diverged at ${where}: the loss scale fell to ${s.scale} after ${s.overflows} ` +
        "steps with overflowing gradients, so they overflow even unscaled; try --precision f32",
    );
  }
}
