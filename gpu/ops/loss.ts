/**
 * Registry entries of softmax and the losses (softmax.wgsl, loss.wgsl). Their tensors are small
 * (logits), so the WASM backend runs the reference on its heap views (no `wasm` entries).
 */

import { kernel, type KernelTable } from "../kernel.ts";
import type { Storage } from "../types.ts";
import * as cpu from "../cpu/loss.ts";
import { softmax as cpuSoftmax } from "../cpu/softmax.ts";
import * as gpu from "../webgpu/loss.ts";
import { softmax as gpuSoftmax } from "../webgpu/softmax.ts";

export const lossOps = {
  softmax: kernel<(x: Storage, rows: number, cols: number, log: boolean) => Storage>({
    reference: cpuSoftmax,
    webgpu: gpuSoftmax,
  }),
  /** Per-element loss of BCE-with-logits, numerically stable. */
  bceWithLogits: kernel<(x: Storage, target: Storage) => Storage>({
    reference: cpu.bceWithLogits,
    webgpu: gpu.bceWithLogits,
  }),
  /** Per-row weighted cross-entropy and the weight each row carries (0 where ignored). */
  crossEntropy: kernel<
    (
      logits: Storage,
      labels: Storage,
      classWeights: Storage | null,
      rows: number,
      cols: number,
      ignoreIndex: number,
    ) => { loss: Storage; weight: Storage }
  >({
    reference: cpu.crossEntropy,
    webgpu: gpu.crossEntropy,
  }),
  /** d(sum_r gRow[r] * loss[r]) / d logits. */
  crossEntropyBackward: kernel<
    (
      logits: Storage,
      labels: Storage,
      classWeights: Storage | null,
      gRow: Storage,
      rows: number,
      cols: number,
      ignoreIndex: number,
    ) => Storage
  >({
    reference: cpu.crossEntropyBackward,
    webgpu: gpu.crossEntropyBackward,
  }),
  oneHot: kernel<(labels: Storage, cols: number) => Storage>({
    reference: cpu.oneHot,
    webgpu: gpu.oneHot,
  }),
} satisfies KernelTable;
