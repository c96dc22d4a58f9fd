/** Linear (y = x W^T + b) with torch's parameter names, layout [out, in] and initialisation. */

import type { Backend } from "../../gpu/backend.ts";
import { defaultBias, defaultWeight } from "../init.ts";
import { Layer } from "../module.ts";
import { linear } from "../ops/matmul.ts";
import type { Tensor } from "../tensor.ts";

export interface LinearOptions {
  bias?: boolean;
  backend?: Backend;
}

export class Linear extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super(options.backend);
    const shape = [outFeatures, inFeatures];
    const init = { backend: this.backend };
    this.weight = this.addParameter("weight", defaultWeight(shape, init));
    this.bias = options.bias === false ? null : this.addParameter("bias", defaultBias(shape, init));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures}->${this.outFeatures}) given input [${x.shape}]`);
    }
    return linear(x, this.weight, this.bias);
  }
}
