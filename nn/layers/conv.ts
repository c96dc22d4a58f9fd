/** Conv2d with torch's constructor, parameter names (`weight` OIHW, `bias`) and initialisation. */

import type { Backend } from "../../gpu/backend.ts";
import { defaultBias, defaultWeight, type InitOptions } from "../init.ts";
import { Layer } from "../module.ts";
import { conv2d } from "../ops/conv.ts";
import type { Tensor } from "../tensor.ts";

export type Pair = number | [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  /** Whether the layer has a bias (torch's default true; false before batch norm). */
  bias?: boolean;
  backend?: Backend;
  /** Replaces torch's default weight draw, e.g. torchvision ResNet's kaiming_normal fan_out. */
  weightInit?: (shape: readonly number[], options: InitOptions) => Tensor;
}

const pair = (p: Pair): [number, number] => (typeof p === "number" ? [p, p] : p);

export class Conv2d extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dOptions = {},
  ) {
    super(options.backend);
    const groups = options.groups ?? 1;
    if (inChannels % groups || outChannels % groups) {
      throw new Error(
        `Conv2d: ${inChannels} in and ${outChannels} out channels must both divide by groups ${groups}`,
      );
    }
    const [kh, kw] = pair(kernelSize);
    const shape = [outChannels, inChannels / groups, kh, kw];
    const init = { backend: this.backend };
    this.weight = this.addParameter(
      "weight",
      (options.weightInit ?? defaultWeight)(shape, init),
    );
    this.bias = options.bias === false ? null : this.addParameter("bias", defaultBias(shape, init));
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    this.dilation = pair(options.dilation ?? 1);
    this.groups = groups;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(`Conv2d(${this.inChannels}->${this.outChannels}) given input [${x.shape}]`);
    }
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}
