/** Structural layers: Sequential (children named "0", "1", ... as in torch), Identity, Flatten. */

import { Layer } from "../module.ts";
import { flatten } from "../ops/layout.ts";
import type { Tensor } from "../tensor.ts";

export class Sequential extends Layer {
  readonly layers: Layer[] = [];

  constructor(...layers: Layer[]) {
    super(layers.find((l) => l.parameters().length)?.backend);
    for (const l of layers) this.append(l);
  }

  append(layer: Layer): this {
    this.addModule(String(this.layers.length), layer);
    this.layers.push(layer);
    return this;
  }

  at(index: number): Layer {
    const l = this.layers.at(index);
    if (!l) throw new Error(`Sequential of ${this.layers.length} layers has no layer ${index}`);
    return l;
  }

  get length(): number {
    return this.layers.length;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

export class Identity extends Layer {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens every axis from `startDim` on (torch's default 1 keeps the batch axis). */
export class Flatten extends Layer {
  constructor(readonly startDim = 1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim);
  }
}
