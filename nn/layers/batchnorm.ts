/**
 * Batch normalisation layers with torch's state: `weight`, `bias`, `running_mean`,
 * `running_var` and `num_batches_tracked` (i32 here, int64 in torch files; the checkpoint code
 * writes it back as I64). Running statistics are updated in place by the op in training mode.
 */

import type { Backend } from "../../gpu/backend.ts";
import { constant } from "../init.ts";
import { Layer } from "../module.ts";
import { batchNorm, batchNormReLU, batchNormSiLU } from "../ops/batchnorm.ts";
import { Tensor } from "../tensor.ts";

export interface BatchNormLayerOptions {
  eps?: number;
  momentum?: number;
  backend?: Backend;
}

abstract class BatchNormBase extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly eps: number;
  readonly momentum: number;
  protected abstract readonly ranks: readonly number[];

  constructor(readonly numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(options.backend);
    const backend = this.backend;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    this.weight = this.addParameter("weight", constant([numFeatures], 1, { backend }));
    this.bias = this.addParameter("bias", constant([numFeatures], 0, { backend }));
    this.addBuffer("running_mean", constant([numFeatures], 0, { backend }));
    this.addBuffer("running_var", constant([numFeatures], 1, { backend }));
    this.addBuffer("num_batches_tracked", constant([], 0, { backend, dtype: "i32" }));
  }

  get runningMean(): Tensor {
    return this.buffer("running_mean");
  }
  get runningVar(): Tensor {
    return this.buffer("running_var");
  }
  get numBatchesTracked(): Tensor {
    return this.buffer("num_batches_tracked");
  }

  forward(x: Tensor): Tensor {
    return this.#apply(x, "none");
  }

  /**
   * relu(this(x) + residual?) without keeping the normalised tensor for the backward pass
   * (nn/ops/batchnorm.ts): what the conv-bn-relu trunks call to fit their activations in memory.
   */
  forwardReLU(x: Tensor, residual?: Tensor): Tensor {
    return this.#apply(x, "relu", residual);
  }

  /** silu(this(x)) without keeping the normalised tensor: EfficientNet's conv-bn-act. */
  forwardSiLU(x: Tensor): Tensor {
    return this.#apply(x, "silu");
  }

  #apply(x: Tensor, activation: "none" | "relu" | "silu", residual?: Tensor): Tensor {
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new Error(
        `${this.constructor.name}(${this.numFeatures}) given input [${x.shape}]; expected rank ` +
          `${this.ranks.join(" or ")} with ${this.numFeatures} channels`,
      );
    }
    const options = {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      numBatchesTracked: this.numBatchesTracked,
    };
    const args = [x, this.weight, this.bias, this.runningMean, this.runningVar, options] as const;
    if (activation === "relu") return batchNormReLU(...args, residual);
    return activation === "silu" ? batchNormSiLU(...args) : batchNorm(...args);
  }
}

/** Over [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNormBase {
  protected readonly ranks = [2, 3];
}

/** Over [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNormBase {
  protected readonly ranks = [4];
}
