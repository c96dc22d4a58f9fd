/** Registry entries of the pooling family (gpu/shaders/pool.wgsl). */

import { kernel, type KernelTable } from "../kernel.ts";
import type { Pool2dParams, Storage } from "../types.ts";
import * as cpu from "../cpu/pool.ts";
import * as gpu from "../webgpu/pool.ts";
import * as wasm from "../wasm/ops/pool.ts";

export const poolOps = {
  /** The window maxima and, per output, the index of the input it came from. */
  maxPool2d: kernel<(x: Storage, p: Pool2dParams) => { y: Storage; argmax: Storage }>({
    reference: cpu.maxPool2d,
    webgpu: gpu.maxPool2d,
    wasm: wasm.maxPool2d,
  }),
  maxPool2dBackward: kernel<(gy: Storage, argmax: Storage, p: Pool2dParams) => Storage>({
    reference: cpu.maxPool2dBackward,
    webgpu: gpu.maxPool2dBackward,
    wasm: wasm.maxPool2dBackward,
  }),
  avgPool2d: kernel<(x: Storage, p: Pool2dParams) => Storage>({
    reference: cpu.avgPool2d,
    webgpu: gpu.avgPool2d,
    wasm: wasm.avgPool2d,
  }),
  avgPool2dBackward: kernel<(gy: Storage, p: Pool2dParams) => Storage>({
    reference: cpu.avgPool2dBackward,
    webgpu: gpu.avgPool2dBackward,
    wasm: wasm.avgPool2dBackward,
  }),
} satisfies KernelTable;
