/** Registry entries of the element-wise family (gpu/shaders/elementwise.wgsl). */

import { kernel, type KernelTable } from "../kernel.ts";
import type { BinaryOp, DType, Storage, StridedView, UnaryOp } from "../types.ts";
import * as cpu from "../cpu/elementwise.ts";
import * as gpu from "../webgpu/elementwise.ts";
import * as wasm from "../wasm/ops/elementwise.ts";

export const elementwiseOps = {
  /** One input; `param` feeds the scalar ops (scale, addScalar, powScalar, clamps, ...). */
  unary: kernel<(op: UnaryOp, x: Storage, param: number) => Storage>({
    reference: cpu.unary,
    webgpu: gpu.unary,
    wasm: wasm.unary,
  }),
  /** Two inputs read through views of one shape (NumPy broadcasting); comparisons give 1 or 0. */
  binary: kernel<
    (op: BinaryOp, a: Storage, aView: StridedView, b: Storage, bView: StridedView) => Storage
  >({
    reference: cpu.binary,
    webgpu: gpu.binary,
    wasm: wasm.binary,
  }),
  cast: kernel<(x: Storage, to: DType) => Storage>({
    reference: cpu.cast,
    webgpu: gpu.cast,
    wasm: wasm.cast,
  }),
  /** out = a * x + b * y (same lengths): the hot path of gradient accumulation. */
  axpby: kernel<(a: number, x: Storage, b: number, y: Storage) => Storage>({
    reference: cpu.axpby,
    webgpu: gpu.axpby,
    wasm: wasm.axpby,
  }),
} satisfies KernelTable;
