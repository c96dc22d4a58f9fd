/** Dropout that is active only in training mode, as torch's. */

import { Layer } from "../module.ts";
import { dropout } from "../ops/random.ts";
import type { Tensor } from "../tensor.ts";

export class Dropout extends Layer {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout probability ${p} is not in [0, 1)`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}
