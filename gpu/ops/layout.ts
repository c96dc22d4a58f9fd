/** Registry entries of the layout and reduction families (layout.wgsl, reduce.wgsl). */

import { kernel, type KernelTable } from "../kernel.ts";
import type { ReduceOp, Storage, StridedView } from "../types.ts";
import * as cpu from "../cpu/layout.ts";
import { reduce as cpuReduce } from "../cpu/reduce.ts";
import * as gpu from "../webgpu/layout.ts";
import { reduce as gpuReduce } from "../webgpu/reduce.ts";
import * as wasm from "../wasm/ops/layout.ts";
import { reduce as wasmReduce } from "../wasm/ops/reduce.ts";

export const layoutOps = {
  /** Materialises a strided view as a dense tensor of view.shape. */
  gather: kernel<(x: Storage, view: StridedView) => Storage>({
    reference: cpu.gather,
    webgpu: gpu.gather,
    wasm: wasm.gather,
  }),
  /** Writes dense `src` into `dst` at a strided view, in place (concat, slice-assign). */
  copyInto: kernel<(src: Storage, dst: Storage, dstView: StridedView) => void>({
    reference: cpu.copyInto,
    webgpu: gpu.copyInto,
    wasm: wasm.copyInto,
  }),
  /** Reduces `axes` of x (of `shape`); the output has the kept axes in order. */
  reduce: kernel<
    (op: ReduceOp, x: Storage, shape: readonly number[], axes: readonly number[]) => Storage
  >({
    reference: cpuReduce,
    webgpu: gpuReduce,
    wasm: wasmReduce,
  }),
} satisfies KernelTable;
