/** Registry entries of the batch-norm family (gpu/shaders/batchnorm.wgsl). */

import { kernel, type KernelTable } from "../kernel.ts";
import type { BatchNormShape, Storage } from "../types.ts";
import * as cpu from "../cpu/batchnorm.ts";
import * as gpu from "../webgpu/batchnorm.ts";
import * as wasm from "../wasm/ops/batchnorm.ts";

/** The normalisation of batchNormApply and of the ops that apply an activation after it. */
type ApplySignature = (
  x: Storage,
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  beta: Storage,
  eps: number,
  s: BatchNormShape,
) => Storage;

export const batchNormOps = {
  /**
   * The per-channel mean and biased variance over n and spatial of a training batch; moves the
   * running mean and variance in place (towards the unbiased variance, PyTorch's rule) and adds
   * 1 to the i32 batch counter where given, in the same pass.
   */
  batchNormStatsRunning: kernel<
    (
      x: Storage,
      s: BatchNormShape,
      runningMean: Storage,
      runningVar: Storage,
      count: Storage | null,
      momentum: number,
    ) => { mean: Storage; variance: Storage }
  >({
    reference: cpu.batchNormStatsRunning,
    webgpu: gpu.batchNormStatsRunning,
    wasm: wasm.batchNormStatsRunning,
  }),
  batchNormApply: kernel<ApplySignature>({
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
  /**
   * silu(batchNormApply(x)): EfficientNet's conv-bn-act in one WebGPU pass, the normalised
   * tensor not stored; the WASM backend chains its two kernels.
   */
  batchNormApplySiLU: kernel<ApplySignature>({
    reference: cpu.batchNormApplySiLU,
    webgpu: gpu.batchNormApplySiLU,
    wasm: wasm.batchNormApplySiLU,
  }),
  /** batchNormBackward of silu(batch norm): the normalised value is recomputed from x (and
   * beta) and gy taken through SiLU's gradient there as it is read (WebGPU). */
  batchNormSiLUBackward: kernel<
    (
      x: Storage,
      gy: Storage,
      mean: Storage,
      variance: Storage,
      gamma: Storage,
      beta: Storage,
      eps: number,
      s: BatchNormShape,
      batchStats: boolean,
    ) => { gx: Storage; gGamma: Storage; gBeta: Storage }
  >({
    reference: cpu.batchNormSiLUBackward,
    webgpu: gpu.batchNormSiLUBackward,
    wasm: wasm.batchNormSiLUBackward,
  }),
} satisfies KernelTable;
