/**
 * The backends a test runs on: the TypeScript reference (`cpu`, the oracle), the WASM SIMD CPU
 * backend (`wasm`), and WebGPU when an adapter exists (Mesa's software adapter in CI). With
 * REQUIRE_WEBGPU=1 (set by .ci/run) a missing adapter fails the run instead of silently testing
 * only the CPU paths.
 */

import type { Backend } from "../../gpu/backend.ts";
import { CpuBackend } from "../../gpu/cpu/backend.ts";
import { webgpuBackend } from "../../gpu/select.ts";
import { createWasmBackend } from "../../gpu/wasm/backend.ts";

let gpu: Promise<Backend | null> | null = null;
let wasm: Promise<Backend> | null = null;

export function gpuOrNull(): Promise<Backend | null> {
  gpu ??= webgpuBackend().catch((err) => {
    if (Deno.env.get("REQUIRE_WEBGPU") === "1") {
      throw new Error(`REQUIRE_WEBGPU=1 but no WebGPU backend: ${err.message}`);
    }
    console.warn(`WebGPU tests skipped: ${err.message}`);
    return null;
  });
  return gpu;
}

export function wasmBackend(): Promise<Backend> {
  wasm ??= createWasmBackend();
  return wasm;
}

export const cpu = new CpuBackend();

/** The fast backends every kernel is compared against the reference on. */
export async function acceleratedBackends(): Promise<Backend[]> {
  const g = await gpuOrNull();
  const w = await wasmBackend();
  return g ? [w, g] : [w];
}

export async function allBackends(): Promise<Backend[]> {
  return [cpu, ...await acceleratedBackends()];
}
