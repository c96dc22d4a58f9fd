/**
 * Registry entries of a training step's state: counter-based random draws (random.wgsl; every
 * backend draws the same numbers) and the in-place optimiser updates (optim.wgsl).
 */

import { kernel, type KernelTable } from "../kernel.ts";
import type {
  AdamParams,
  LossScaleParams,
  LossScaling,
  RandomKind,
  SgdParams,
  Storage,
} from "../types.ts";
import * as cpuScale from "../cpu/loss-scale.ts";
import * as cpu from "../cpu/optim.ts";
import { random as cpuRandom } from "../cpu/random.ts";
import * as gpuScale from "../webgpu/loss-scale.ts";
import * as gpu from "../webgpu/optim.ts";
import { random as gpuRandom } from "../webgpu/random.ts";
import * as wasm from "../wasm/ops/optim.ts";

export const optimOps = {
  random: kernel<(length: number, kind: RandomKind, p: number, seed: number) => Storage>({
    reference: cpuRandom,
    webgpu: gpuRandom,
  }),
  /**
   * SGD over a group: each parameter with its gradient, its momentum at its place in one buffer
   * that holds the optimiser's parameters end to end from `base` (nn/optim/optimizer.ts).
   */
  sgdStepGroup: kernel<
    (
      params: readonly Storage[],
      grads: readonly Storage[],
      momentumBuf: Storage,
      base: number,
      p: SgdParams,
      scaling?: LossScaling,
    ) => void
  >({
    reference: cpu.sgdStepGroup,
    webgpu: gpu.sgdStepGroup,
    wasm: wasm.sgdStepGroup,
  }),
  /** Adam over a group, its moments laid out as sgdStepGroup's momentum. */
  adamStepGroup: kernel<
    (
      params: readonly Storage[],
      grads: readonly Storage[],
      m: Storage,
      v: Storage,
      base: number,
      p: AdamParams,
      scaling?: LossScaling,
    ) => void
  >({
    reference: cpu.adamStepGroup,
    webgpu: gpu.adamStepGroup,
    wasm: wasm.adamStepGroup,
  }),
  /** Raises the overflow flag of a LossScaling's state if any gradient is NaN or infinite. */
  flagNonFinite: kernel<(grads: readonly Storage[], state: Storage) => void>({
    reference: cpuScale.flagNonFinite,
    webgpu: gpuScale.flagNonFinite,
  }),
  /** Ends a loss-scaled step: the scale backs off after an overflow or grows on schedule. */
  updateLossScale: kernel<(scale: Storage, state: Storage, p: LossScaleParams) => void>({
    reference: cpuScale.updateLossScale,
    webgpu: gpuScale.updateLossScale,
  }),
} satisfies KernelTable;
