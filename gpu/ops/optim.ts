/**
 * Registry entries of a training step's state: counter-based random draws (random.wgsl; every
 * backend draws the same numbers) and the in-place optimiser updates (optim.wgsl).
 */

import { kernel, type KernelTable } from "../kernel.ts";
import type { AdamParams, RandomKind, SgdParams, Storage } from "../types.ts";
import * as cpu from "../cpu/optim.ts";
import { random as cpuRandom } from "../cpu/random.ts";
import * as gpu from "../webgpu/optim.ts";
import { random as gpuRandom } from "../webgpu/random.ts";
import * as wasm from "../wasm/ops/optim.ts";

export const optimOps = {
  random: kernel<(length: number, kind: RandomKind, p: number, seed: number) => Storage>({
    reference: cpuRandom,
    webgpu: gpuRandom,
  }),
  sgdStep: kernel<(param: Storage, grad: Storage, momentumBuf: Storage, p: SgdParams) => void>({
    reference: cpu.sgdStep,
    webgpu: gpu.sgdStep,
    wasm: wasm.sgdStep,
  }),
  adamStep: kernel<
    (param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamParams) => void
  >({
    reference: cpu.adamStep,
    webgpu: gpu.adamStep,
    wasm: wasm.adamStep,
  }),
} satisfies KernelTable;
