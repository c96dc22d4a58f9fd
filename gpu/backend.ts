/**
 * The one interface through which `nn/` reaches kernels. Implemented by the WebGPU backend
 * (gpu/webgpu/, WGSL kernels in gpu/shaders/), the WASM SIMD CPU backend (gpu/wasm/) and the
 * TypeScript reference (gpu/cpu/), the oracle every kernel is tested against.
 */

import type { Kernels } from "./registry.ts";
import type { DType, MemoryStats, Storage, TypedArray } from "./types.ts";

export * from "./types.ts";
export type { Kernels, OpName } from "./registry.ts";

/** Memory and the kernel methods of every registered op (gpu/registry.ts). */
export interface Backend extends Kernels {
  readonly name: string;
  /** Human-readable device, e.g. "cpu (TypeScript reference)" or the adapter's description. */
  readonly description: string;

  // --- memory ---
  upload(data: TypedArray): Storage;
  zeros(length: number, dtype: DType): Storage;
  fill(length: number, value: number, dtype: DType): Storage;
  read(s: Storage): Promise<TypedArray>;
  /** Reads many storages with one round trip (the GPU stalls once, not per tensor). */
  readMany(list: Storage[]): Promise<TypedArray[]>;
  free(s: Storage): void;
  memory(): MemoryStats;
  /** Submits queued work (no-op on the CPU). */
  flush(): void;
}
