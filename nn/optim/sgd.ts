/**
 * PyTorch's SGD: weight decay is added to the gradient, the momentum buffer starts as the first
 * gradient, later steps decay it with `dampening`, and Nesterov looks one step ahead.
 */

import { keep } from "../scope.ts";
import { Tensor } from "../tensor.ts";
import { Optimizer, type ParamState } from "./optimizer.ts";

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
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
    { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false }: SgdOptions,
  ) {
    super(params, lr);
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

  protected update(param: Tensor, grad: Tensor, st: ParamState): void {
    let buf: Tensor;
    let firstStep = false;
    if (this.momentum !== 0) {
      firstStep = !st.buffers.momentum;
      buf = st.buffers.momentum ??= this.buffer(param);
    } else {
      const b = param.backend;
      this.#placeholder ??= keep(Tensor.fromStorage(b, b.zeros(1, "f32"), [1]));
      buf = this.#placeholder;
    }
    param.backend.sgdStep(param.storage, grad.storage, buf.storage, {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      weightDecay: this.weightDecay,
      nesterov: this.nesterov,
      firstStep,
    });
  }

  override dispose(): void {
    super.dispose();
    this.#placeholder?.dispose();
    this.#placeholder = null;
  }
}
