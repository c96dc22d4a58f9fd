/**
 * Registry entries of the GEMM family: matmul and the convolutions (matmul.wgsl, conv.wgsl). The
 * host backends honour an f16 operand precision through gpu/half-operands.ts; the WGSL kernels
 * round as they stage and store.
 */

import { kernel, type KernelTable } from "../kernel.ts";
import type { Conv2dParams, HostStorage, MatmulParams, Storage } from "../types.ts";
import { atOperandPrecision, type HostMemory } from "../half-operands.ts";
import { matmul as cpuMatmul } from "../cpu/matmul.ts";
import { wrap } from "../cpu/storage.ts";
import * as cpuConv from "../cpu/conv.ts";
import { matmul as gpuMatmul } from "../webgpu/matmul.ts";
import * as gpuConv from "../webgpu/conv.ts";
import { matmul as wasmMatmul } from "../wasm/ops/matmul.ts";
import * as wasmConv from "../wasm/ops/conv.ts";
import type { WasmRuntime } from "../wasm/runtime.ts";
import type { WasmStorage } from "../wasm/storage.ts";

const cpuMemory: HostMemory<HostStorage> = { copy: (data) => wrap(data.slice()), free: () => {} };

/** A WASM GEMM-family op at its params' precision; the rounded copies live on the heap. */
function wasmAt<P extends MatmulParams | Conv2dParams>(
  op: (rt: WasmRuntime, a: WasmStorage, b: WasmStorage, p: P) => WasmStorage,
) {
  return (rt: WasmRuntime, a: WasmStorage, b: WasmStorage, p: P): WasmStorage =>
    atOperandPrecision<WasmStorage, P>((x, y, q) => op(rt, x, y, q), {
      copy: (data) => rt.upload(data),
      free: (s) => rt.free(s),
    })(a, b, p);
}

export const gemmOps = {
  /** C[b] = op(A[b]) x op(B[b]) with op = transpose when asked; a batch stride of 0 broadcasts. */
  matmul: kernel<(a: Storage, b: Storage, p: MatmulParams) => Storage>({
    reference: atOperandPrecision(cpuMatmul, cpuMemory),
    webgpu: gpuMatmul,
    wasm: wasmAt(wasmMatmul),
  }),
  conv2d: kernel<(x: Storage, w: Storage, p: Conv2dParams) => Storage>({
    reference: atOperandPrecision(cpuConv.conv2d, cpuMemory),
    webgpu: gpuConv.conv2d,
    wasm: wasmAt(wasmConv.conv2d),
  }),
  conv2dGradInput: kernel<(gy: Storage, w: Storage, p: Conv2dParams) => Storage>({
    reference: atOperandPrecision(cpuConv.conv2dGradInput, cpuMemory),
    webgpu: gpuConv.conv2dGradInput,
    wasm: wasmAt(wasmConv.conv2dGradInput),
  }),
  conv2dGradWeight: kernel<(x: Storage, gy: Storage, p: Conv2dParams) => Storage>({
    reference: atOperandPrecision(cpuConv.conv2dGradWeight, cpuMemory),
    webgpu: gpuConv.conv2dGradWeight,
    wasm: wasmAt(wasmConv.conv2dGradWeight),
  }),
} satisfies KernelTable;
