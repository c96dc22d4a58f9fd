/** Pooling layers over NCHW inputs, with torch's defaults (stride = kernel, no padding). */

import { Layer } from "../module.ts";
import { reshape } from "../ops/layout.ts";
import { avgPool2d, globalAvgPool2d, maxPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";
import type { Pair } from "./conv.ts";

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
}

export class MaxPool2d extends Layer {
  constructor(readonly kernel: Pair, readonly options: Pool2dOptions = {}) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, { kernel: this.kernel, ...this.options });
  }
}

export class AvgPool2d extends Layer {
  constructor(
    readonly kernel: Pair,
    readonly options: Pool2dOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, { kernel: this.kernel, ...this.options });
  }
}

/** torch's AdaptiveAvgPool2d for output size 1 (what classifiers use): [N, C, 1, 1]. */
export class AdaptiveAvgPool2d extends Layer {
  constructor(readonly outputSize: Pair = 1) {
    super();
    const [h, w] = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
    if (h !== 1 || w !== 1) {
      throw new Error(`AdaptiveAvgPool2d supports output size 1 only, got ${outputSize}`);
    }
  }

  forward(x: Tensor): Tensor {
    const y = globalAvgPool2d(x);
    return reshape(y, [...y.shape, 1, 1]);
  }
}

/** Mean over H and W straight to [N, C] (AdaptiveAvgPool2d(1) + Flatten in one). */
export class GlobalAvgPool extends Layer {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}
