/** Parameter-free activation layers, so models can name them in Sequential chains. */

import { Layer } from "../module.ts";
import { relu, sigmoid, silu } from "../ops/elementwise.ts";
import type { Tensor } from "../tensor.ts";

export class ReLU extends Layer {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class SiLU extends Layer {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

export class Sigmoid extends Layer {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}
