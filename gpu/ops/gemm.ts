/** Registry entries of the GEMM family: matmul and the convolutions (matmul.wgsl, conv.wgsl). */

import { kernel, type KernelTable } from "../kernel.ts";
import type { Conv2dParams, MatmulParams, Storage } from "../types.ts";
import { matmul as cpuMatmul } from "../cpu/matmul.ts";
import * as cpuConv from "../cpu/conv.ts";
import { matmul as gpuMatmul } from "../webgpu/matmul.ts";
import * as gpuConv from "../webgpu/conv.ts";
import { matmul as wasmMatmul } from "../wasm/ops/matmul.ts";
import * as wasmConv from "../wasm/ops/conv.ts";

export const gemmOps = {
  /** C[b] = op(A[b]) x op(B[b]) with op = transpose when asked; a batch stride of 0 broadcasts. */
  matmul: kernel<(a: Storage, b: Storage, p: MatmulParams) => Storage>({
    reference: cpuMatmul,
    webgpu: gpuMatmul,
    wasm: wasmMatmul,
  }),
  conv2d: kernel<(x: Storage, w: Storage, p: Conv2dParams) => Storage>({
    reference: cpuConv.conv2d,
    webgpu: gpuConv.conv2d,
    wasm: wasmConv.conv2d,
  }),
  conv2dGradInput: kernel<(gy: Storage, w: Storage, p: Conv2dParams) => Storage>({
    reference: cpuConv.conv2dGradInput,
    webgpu: gpuConv.conv2dGradInput,
    wasm: wasmConv.conv2dGradInput,
  }),
  conv2dGradWeight: kernel<(x: Storage, gy: Storage, p: Conv2dParams) => Storage>({
    reference: cpuConv.conv2dGradWeight,
    webgpu: gpuConv.conv2dGradWeight,
    wasm: wasmConv.conv2dGradWeight,
  }),
} satisfies KernelTable;
