/**
 * Registry entries of the element-wise family (gpu/shaders/elementwise.wgsl). A small op may carry
 * its reference and WebGPU glue here, as sigmoidGate does; the others' live in gpu/cpu/,
 * gpu/webgpu/ and gpu/wasm/ops/.
 */

import { kernel, type KernelTable } from "../kernel.ts";
import type { BinaryOp, DType, HostStorage, Storage, StridedView, UnaryOp } from "../types.ts";
import { UNARY_OPS } from "../elementwise-ops.ts";
import * as cpu from "../cpu/elementwise.ts";
import { f32, wrap } from "../cpu/storage.ts";
import * as gpu from "../webgpu/elementwise.ts";
import { fused as fusedWebGpu } from "../webgpu/fused.ts";
import type { FusedProgram } from "../fused-elementwise.ts";
import { GpuRuntime, type GpuStorage } from "../webgpu/runtime.ts";
import * as wasm from "../wasm/ops/elementwise.ts";

/** The gate count must tile x into whole planes. */
function checkGate(x: Storage, gate: Storage, plane: number): void {
  if (!Number.isInteger(plane) || plane < 1 || gate.length * plane !== x.length) {
    throw new Error(
      `sigmoidGate: ${gate.length} gates of ${plane} elements do not cover x of ${x.length}`,
    );
  }
}

function sigmoidGateReference(x: HostStorage, gate: HostStorage, plane: number): HostStorage {
  checkGate(x, gate, plane);
  const xs = f32(x);
  const s = f32(gate).map(UNARY_OPS.sigmoid.cpu);
  const out = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[i] * s[Math.floor(i / plane)];
  return wrap(out);
}

function sigmoidGateWebGpu(
  rt: GpuRuntime,
  x: GpuStorage,
  gate: GpuStorage,
  plane: number,
): GpuStorage {
  checkGate(x, gate, plane);
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "elementwise",
    entry: "sigmoidGate",
    workgroupSize: [256, 1, 1],
    dispatch: GpuRuntime.grid(Math.ceil(x.length / 256)),
    params: [{ u32: x.length }, { u32: plane }],
    inputs: [x, gate],
    outputs: [y],
  });
  return y;
}

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
  /**
   * y = x * sigmoid(gate[i / plane]): squeeze-excitation's channel gate, one fused pass instead of
   * a sigmoid and a broadcast multiply. No WASM kernel: the reference runs on the heap views.
   */
  sigmoidGate: kernel<(x: Storage, gate: Storage, plane: number) => Storage>({
    reference: sigmoidGateReference,
    webgpu: sigmoidGateWebGpu,
  }),
  /**
   * A chain of unary and binary rows over inputs of one length (gpu/fused-elementwise.ts): one
   * WebGPU pass where the chain would take one per step, the chain's numbers on the others.
   */
  fused: kernel<(program: FusedProgram, inputs: readonly Storage[]) => Storage>({
    reference: cpu.fused,
    webgpu: fusedWebGpu,
    wasm: wasm.fused,
  }),
} satisfies KernelTable;
