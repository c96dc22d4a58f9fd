/** Registry entries of the batch-norm family (gpu/shaders/batchnorm.wgsl). */

import { kernel, type KernelTable } from "../kernel.ts";
import type { BatchNormShape, Storage } from "../types.ts";
import * as cpu from "../cpu/batchnorm.ts";
import * as gpu from "../webgpu/batchnorm.ts";
import * as wasm from "../wasm/ops/batchnorm.ts";

export const batchNormOps = {
  /** Per-channel mean and biased variance over n and spatial. */
  batchNormStats: kernel<
    (x: Storage, s: BatchNormShape) => { mean: Storage; variance: Storage }
  >({
    reference: cpu.batchNormStats,
    webgpu: gpu.batchNormStats,
    wasm: wasm.batchNormStats,
  }),
  batchNormApply: kernel<
    (
      x: Storage,
      mean: Storage,
      variance: Storage,
      gamma: Storage,
      beta: Storage,
      eps: number,
      s: BatchNormShape,
    ) => Storage
  >({
    reference: cpu.batchNormApply,
    webgpu: gpu.batchNormApply,
    wasm: wasm.batchNormApply,
  }),
  /** Gradients of batchNormApply; with `batchStats` the mean/variance are functions of x. */
  batchNormBackward: kernel<
    (
      x: Storage,
      gy: Storage,
      mean: Storage,
      variance: Storage,
      gamma: Storage,
      eps: number,
      s: BatchNormShape,
      batchStats: boolean,
    ) => { gx: Storage; gGamma: Storage; gBeta: Storage }
  >({
    reference: cpu.batchNormBackward,
    webgpu: gpu.batchNormBackward,
    wasm: wasm.batchNormBackward,
  }),
} satisfies KernelTable;
