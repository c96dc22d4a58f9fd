/**
 * The compact trunk of the synthetic skin experiments (`synth-cnn` in the trunk registry): four
 * conv3x3 + BN + ReLU stages (three followed by 2x2 max-pooling: 64 -> 32 -> 16 -> 8) and global
 * average pooling, giving 4 x `width` features for the main and bias heads. Small enough to train
 * on a CPU in minutes; it stands in for the study's ImageNet-pretrained trunks.
 */

import type { Backend } from "../../gpu/backend.ts";
import { ReLU } from "../layers/activation.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Sequential } from "../layers/container.ts";
import { Conv2d } from "../layers/conv.ts";
import { GlobalAvgPool, MaxPool2d } from "../layers/pool.ts";
import type { Layer } from "../module.ts";

/** The encoder and the width of its pooled features. */
export interface SynthTrunk {
  encoder: Sequential;
  features: number;
}

/** Default channel width of the first stage (features = 4 x width). */
export const SYNTH_TRUNK_WIDTH = 16;

/** Builds the compact trunk; its forward maps [N, 3, H, W] to [N, 4 x width]. */
export function synthTrunk(width = SYNTH_TRUNK_WIDTH, backend?: Backend): SynthTrunk {
  if (!Number.isInteger(width) || width < 1) {
    throw new Error(`synth trunk: width must be a positive integer, got ${width}`);
  }
  const b = { backend };
  const stage = (cin: number, cout: number, pool: boolean): Layer[] => [
    new Conv2d(cin, cout, 3, { ...b, padding: 1, bias: false }),
    new BatchNorm2d(cout, b),
    new ReLU(),
    ...(pool ? [new MaxPool2d(2)] : []),
  ];
  const encoder = new Sequential(
    ...stage(3, width, true),
    ...stage(width, 2 * width, true),
    ...stage(2 * width, 4 * width, true),
    ...stage(4 * width, 4 * width, false),
    new GlobalAvgPool(),
  );
  return { encoder, features: 4 * width };
}
