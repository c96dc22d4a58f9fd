/**
 * LNTL's Colored MNIST network (Kim et al. 2019), split where its bias heads attach:
 * encoder = BN on the input, conv5x5 3->32, ReLU, maxpool 3/2, conv3x3 32->32, ReLU (the feature
 * map f, 32x14x14); main = conv3x3 stride 2 32->64, ReLU, conv3x3 64->64, ReLU, global average
 * pool, fc 64->10. Paddings keep 28 -> 28 -> 14 -> 14 -> 7 -> 7, as the official code does.
 */

import type { Backend } from "../gpu/backend.ts";
import { ReLU } from "../nn/layers/activation.ts";
import { BatchNorm2d } from "../nn/layers/batchnorm.ts";
import { Sequential } from "../nn/layers/container.ts";
import { Conv2d } from "../nn/layers/conv.ts";
import { Linear } from "../nn/layers/linear.ts";
import { GlobalAvgPool, MaxPool2d } from "../nn/layers/pool.ts";

/** Channels of the feature map the bias heads (and the colour probe) see. */
export const CMNIST_FEATURE_CHANNELS = 32;

export interface CmnistNetwork {
  encoder: Sequential;
  main: Sequential;
}

export function cmnistNetwork(backend?: Backend): CmnistNetwork {
  const b = { backend };
  const encoder = new Sequential(
    new BatchNorm2d(3, b),
    new Conv2d(3, 32, 5, { ...b, padding: 2 }),
    new ReLU(),
    new MaxPool2d(3, { stride: 2, padding: 1 }),
    new Conv2d(32, CMNIST_FEATURE_CHANNELS, 3, { ...b, padding: 1 }),
    new ReLU(),
  );
  const main = new Sequential(
    new Conv2d(CMNIST_FEATURE_CHANNELS, 64, 3, { ...b, stride: 2, padding: 1 }),
    new ReLU(),
    new Conv2d(64, 64, 3, { ...b, padding: 1 }),
    new ReLU(),
    new GlobalAvgPool(),
    new Linear(64, 10, b),
  );
  return { encoder, main };
}
