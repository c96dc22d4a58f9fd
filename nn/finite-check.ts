/**
 * Stops training on the first non-finite parameter or gradient, naming it.
 *
 * Why: a NaN need not reach the loss to ruin a run. A NaN gradient written into one weight, or a
 * running statistic gone to infinity, can leave the loss looking normal while the model is dead,
 * and the run would end with exit 0 and a chance-level result. So whenever losses are read back,
 * the parameters and gradients are checked too, cheaply: one sum reduction per tensor on the
 * device (a sum is non-finite when any element is NaN or infinite), read back in the same round
 * trip as the losses. Only when a sum is not finite is that tensor itself read back, to name the
 * first bad element (a sum of huge but finite values may overflow; that alone is not reported).
 */

import type { Backend, Storage, TypedArray } from "../gpu/backend.ts";
import type { Tensor } from "./tensor.ts";

/** Where training stands when a check runs, as people count: both 1-based. */
export interface TrainingPosition {
  /** Step within the epoch. */
  step: number;
  epoch: number;
}

interface Probed {
  label: string;
  tensor: Tensor;
  sum: Storage;
}

/** Thrown when a parameter, buffer or gradient holds NaN or an infinity. */
export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly tensorName: string,
    readonly position: TrainingPosition,
  ) {
    super(message);
    this.name = "NonFiniteError";
  }
}

/** "step 40 of epoch 2". */
export function describePosition(where: TrainingPosition): string {
  return `step ${where.step} of epoch ${where.epoch}`;
}

/**
 * Sums queued on the device for every f32 tensor of `named` and its gradient. Read
 * {@link FiniteProbe.storages} back together with anything else (the losses), then call
 * {@link FiniteProbe.settle} with the values; dispose() frees the sums either way.
 */
export class FiniteProbe {
  readonly #probed: Probed[] = [];

  /**
   * `gradients: false` leaves the gradients out: under loss scaling (nn/optim/loss-scaler.ts)
   * an overflowing gradient is expected now and then, and its update was skipped.
   */
  constructor(named: readonly (readonly [string, Tensor])[], { gradients = true } = {}) {
    const add = (label: string, t: Tensor) => {
      if (t.disposed || t.dtype !== "f32" || t.size === 0) return;
      this.#probed.push({
        label,
        tensor: t,
        sum: t.backend.reduce("sum", t.storage, [t.size], [0]),
      });
    };
    try {
      for (const [name, t] of named) {
        add(`parameter "${name}"`, t);
        if (gradients && t.grad) add(`gradient of "${name}"`, t.grad);
      }
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** The backend of the checked tensors (undefined when there is nothing to check). */
  get backend(): Backend | undefined {
    return this.#probed[0]?.tensor.backend;
  }

  /** The device sums, one per checked tensor, in order. */
  get storages(): Storage[] {
    return this.#probed.map((p) => p.sum);
  }

  /**
   * Throws a {@link NonFiniteError} naming the first tensor with a NaN or infinite element,
   * given the values read back from {@link storages}. Frees the sums.
   */
  async settle(values: readonly TypedArray[], where: TrainingPosition): Promise<void> {
    try {
      if (values.length !== this.#probed.length) {
        throw new Error(`finite check: ${values.length} sums for ${this.#probed.length} tensors`);
      }
      for (let i = 0; i < values.length; i++) {
        if (Number.isFinite(values[i][0])) continue;
        const { label, tensor } = this.#probed[i];
        const data = await tensor.backend.read(tensor.storage);
        const bad = data.findIndex((v) => !Number.isFinite(v));
        if (bad < 0) continue;
        throw new NonFiniteError(
          `training stopped at ${describePosition(where)}: ${label} became ${data[bad]} ` +
            `(element ${bad} of [${tensor.shape}]); the losses read back so far were finite`,
          label,
          where,
        );
      }
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    for (const p of this.#probed.splice(0)) p.tensor.backend.free(p.sum);
  }
}

/**
 * Checks every tensor of `named` (parameters and buffers) and its gradient for NaN and
 * infinities in one read-back; throws a {@link NonFiniteError} naming the step, the epoch and
 * the first offending tensor. For training loops of their own; the built-in loops fold the
 * same check into their loss read-back.
 */
export async function assertFiniteParameters(
  named: readonly (readonly [string, Tensor])[],
  where: TrainingPosition,
): Promise<void> {
  const probe = new FiniteProbe(named);
  const backend = probe.backend;
  if (!backend) return;
  let values: TypedArray[];
  try {
    values = await backend.readMany(probe.storages);
  } catch (err) {
    probe.dispose();
    throw err;
  }
  await probe.settle(values, where);
}
