/**
 * PyTorch's Adam (no amsgrad): weight decay is L2 added to the gradient (not AdamW), moments
 * are bias-corrected with each parameter's own step count.
 */

import type { Tensor } from "../tensor.ts";
import { type GroupRun, Optimizer } from "./optimizer.ts";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Elements per state buffer (optimizer.ts's SHARD_ELEMENTS unless set). */
  shardElements?: number;
}

export class Adam extends Optimizer {
  readonly kind = "adam";
  betas: [number, number];
  eps: number;
  weightDecay: number;

  constructor(
    params: readonly Tensor[],
    { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, shardElements }: AdamOptions =
      {},
  ) {
    super(params, lr, shardElements);
    for (const b of betas) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam: invalid beta ${b} (need 0 <= beta < 1)`);
    }
    if (!(eps >= 0)) throw new Error(`Adam: invalid eps ${eps}`);
    if (!(weightDecay >= 0)) throw new Error(`Adam: invalid weight decay ${weightDecay}`);
    this.betas = [...betas];
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  protected bufferNames(): readonly string[] {
    return ["m", "v"];
  }

  protected updateGroup({ params, grads, shard, base, step, scaling }: GroupRun): void {
    const backend = params[0].backend;
    backend.adamStepGroup(
      params.map((p) => p.storage),
      grads.map((g) => g.storage),
      this.buffer("m", shard).storage,
      this.buffer("v", shard).storage,
      base,
      {
        lr: this.lr,
        beta1: this.betas[0],
        beta2: this.betas[1],
        eps: this.eps,
        weightDecay: this.weightDecay,
        step,
      },
      scaling,
    );
  }
}
