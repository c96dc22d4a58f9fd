/**
 * PyTorch's SGD: weight decay is added to the gradient, the momentum buffer starts as the first
 * gradient, later steps decay it with `dampening`, and Nesterov looks one step ahead.
 */

import { keep } from "../scope.ts";
import { Tensor } from "../tensor.ts";
import { type GroupRun, Optimizer } from "./optimizer.ts";

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Elements per state buffer (optimizer.ts's SHARD_ELEMENTS unless set). */
  shardElements?: number;
}

export class SGD extends Optimizer {
  readonly kind = "sgd";
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** Bound in place of a momentum buffer when momentum is 0 (the kernel never touches it). */
  #placeholder: Tensor | null = null;

  constructor(
    params: readonly Tensor[],
    { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, shardElements }:
      SgdOptions,
  ) {
    super(params, lr, shardElements);
    if (!(momentum >= 0)) throw new Error(`SGD: invalid momentum ${momentum}`);
    if (!(weightDecay >= 0)) throw new Error(`SGD: invalid weight decay ${weightDecay}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new Error("SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
    }
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  protected bufferNames(): readonly string[] {
    return this.momentum !== 0 ? ["momentum"] : [];
  }

  protected updateGroup({ params, grads, shard, base, filled, scaling }: GroupRun): void {
    const backend = params[0].backend;
    let buf: Tensor;
    if (this.momentum !== 0) buf = this.buffer("momentum", shard);
    else {
      this.#placeholder ??= keep(Tensor.fromStorage(backend, backend.zeros(1, "f32"), [1]));
      buf = this.#placeholder;
    }
    backend.sgdStepGroup(
      params.map((p) => p.storage),
      grads.map((g) => g.storage),
      buf.storage,
      base,
      {
        lr: this.lr,
        momentum: this.momentum,
        dampening: this.dampening,
        weightDecay: this.weightDecay,
        nesterov: this.nesterov,
        firstStep: !filled.has("momentum"),
      },
      scaling,
    );
  }

  override dispose(): void {
    super.dispose();
    this.#placeholder?.dispose();
    this.#placeholder = null;
  }
}
