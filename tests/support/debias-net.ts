/**
 * A tiny debiasing network's pieces for the step tests: a batch of N items with IN inputs and two
 * bias columns, and a linear + ReLU encoder to FEAT features that keeps every feature batch it
 * produces (so a test can recompute a phase by hand).
 */

import type { Backend } from "../../gpu/backend.ts";
import type { Batch } from "../../data/batch.ts";
import { Linear } from "../../nn/layers/linear.ts";
import { Layer } from "../../nn/module.ts";
import { relu } from "../../nn/ops/elementwise.ts";
import { flatten } from "../../nn/ops/layout.ts";
import { keep } from "../../nn/scope.ts";
import type { Tensor } from "../../nn/tensor.ts";

export const N = 8;
export const IN = 4;
export const FEAT = 5;

/** A linear + ReLU encoder that keeps (detached) every feature batch it produces. */
export class RecordingEncoder extends Layer {
  readonly fc: Linear;
  readonly outputs: Tensor[] = [];
  constructor(backend: Backend) {
    super(backend);
    this.fc = this.addModule("fc", new Linear(IN, FEAT, { backend }));
  }
  forward(x: Tensor): Tensor {
    const y = relu(this.fc.forward(flatten(x)));
    this.outputs.push(keep(y.detach()));
    return y;
  }
}

/** Eight items: targets 1 at every third, `marked` alternating, `scale` on the first three. */
export function batch(): Batch {
  const images = new Float32Array(N * IN);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(1.7 * i + 0.3) * 1.5 + 0.2;
  const target = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : 0));
  return {
    images,
    shape: [N, IN, 1, 1],
    target,
    labels: Int32Array.from(target),
    bias: {
      marked: Int32Array.from({ length: N }, (_, i) => (i % 2)),
      scale: Int32Array.from({ length: N }, (_, i) => (i < 3 ? 1 : 0)),
    },
    indices: Int32Array.from({ length: N }, (_, i) => i),
  };
}
