/**
 * PyTorch's Adam (no amsgrad): weight decay is L2 added to the gradient (not AdamW), moments
 * are bias-corrected with each parameter's own step count.
 */

import type { Tensor } from "../tensor.ts";
import { Optimizer, type ParamState } from "./optimizer.ts";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  readonly kind = "adam";
  betas: [number, number];
  eps: number;
  weightDecay: number;

  constructor(
    params: readonly Tensor[],
    { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 }: AdamOptions = {},
  ) {
    super(params, lr);
    for (const b of betas) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam: invalid beta ${b} (need 0 <= beta < 1)`);
    }
    if (!(eps >= 0)) throw new Error(`Adam: invalid eps ${eps}`);
    if (!(weightDecay >= 0)) throw new Error(`Adam: invalid weight decay ${weightDecay}`);
    this.betas = [...betas];
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  protected update(param: Tensor, grad: Tensor, st: ParamState): void {
    const m = st.buffers.m ??= this.buffer(param);
    const v = st.buffers.v ??= this.buffer(param);
    param.backend.adamStep(param.storage, grad.storage, m.storage, v.storage, {
      lr: this.lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: this.weightDecay,
      step: st.step,
    });
  }
}
