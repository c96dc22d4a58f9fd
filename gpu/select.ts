/**
 * Chooses the backend once at start-up and says why. `auto` takes a hardware GPU adapter when
 * one exists; on a software adapter (llvmpipe/lavapipe) or none it takes the WASM SIMD CPU
 * backend, which measures faster there (see gpu/wasm/README.md). `cpu-reference` is the plain
 * TypeScript oracle the tests compare every kernel against.
 */

import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu/backend.ts";
import { createWasmBackend } from "./wasm/backend.ts";
import { WebGpuBackend } from "./webgpu/backend.ts";
import { createGpuRuntime, NoAdapterError } from "./webgpu/runtime.ts";

/** `cpu` is the WASM SIMD backend; `cpu-reference` the TypeScript oracle. */
export const BACKEND_CHOICES = ["auto", "webgpu", "cpu", "cpu-reference"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendSelection {
  backend: Backend;
  reason: string;
}

let gpuBackend: Promise<WebGpuBackend> | null = null;

/** One WebGPU device per process: pipelines and pooled buffers are shared by every caller. */
export function webgpuBackend(): Promise<WebGpuBackend> {
  gpuBackend ??= createGpuRuntime().then((rt) => new WebGpuBackend(rt));
  gpuBackend.catch(() => (gpuBackend = null));
  return gpuBackend;
}

async function fastCpu(reason: string): Promise<BackendSelection> {
  try {
    return { backend: await createWasmBackend(), reason };
  } catch (err) {
    return {
      backend: new CpuBackend(),
      reason: `${reason}; WASM kernels unavailable (${
        (err as Error).message
      }), using the TypeScript reference`,
    };
  }
}

export async function selectBackend(choice: BackendChoice): Promise<BackendSelection> {
  if (choice === "cpu-reference") {
    return { backend: new CpuBackend(), reason: "asked for --backend cpu-reference" };
  }
  if (choice === "cpu") return await fastCpu("asked for --backend cpu");
  if (choice === "webgpu") {
    return { backend: await webgpuBackend(), reason: "asked for --backend webgpu" };
  }
  try {
    const gpu = await webgpuBackend();
    if (!gpu.rt.adapter.isSoftware) {
      return { backend: gpu, reason: `hardware adapter found: ${gpu.rt.adapter.description}` };
    }
    return await fastCpu(
      `only a software adapter (${gpu.rt.adapter.description}); the WASM CPU backend is faster`,
    );
  } catch (err) {
    if (!(err instanceof NoAdapterError)) throw err;
    return await fastCpu(`no WebGPU adapter: ${err.message}`);
  }
}
