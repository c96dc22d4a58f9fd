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
  /**
   * relu(batchNormApply(x) + residual?), the residual a block's shortcut or null: one pass on
   * WebGPU (the pre-activation never written); the WASM backend chains its three kernels.
   */
  batchNormApplyReLU: kernel<
    (
      x: Storage,
      mean: Storage,
      variance: Storage,
      gamma: Storage,
      beta: Storage,
      residual: Storage | null,
      eps: number,
      s: BatchNormShape,
    ) => Storage
  >({
    reference: cpu.batchNormApplyReLU,
    webgpu: gpu.batchNormApplyReLU,
    wasm: wasm.batchNormApplyReLU,
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
  /** batchNormBackward of relu(batch norm), given the ReLU's output y: its mask is applied as
   * the gradient is read (WebGPU), not written out first. */
  batchNormReLUBackward: kernel<
    (
      x: Storage,
      y: Storage,
      gy: Storage,
      mean: Storage,
      variance: Storage,
      gamma: Storage,
      eps: number,
      s: BatchNormShape,
      batchStats: boolean,
    ) => { gx: Storage; gGamma: Storage; gBeta: Storage }
  >({
    reference: cpu.batchNormReLUBackward,
    webgpu: gpu.batchNormReLUBackward,
    wasm: wasm.batchNormReLUBackward,
  }),
} satisfies KernelTable;
