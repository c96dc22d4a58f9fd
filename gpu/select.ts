/**
 * Chooses the backend once at start-up. `auto` takes a hardware GPU adapter when one exists; on
 * a software adapter (llvmpipe/lavapipe) or none it takes the CPU backend, which measures faster
 * there. The choice is always reported.
 */

import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu/backend.ts";
import { WebGpuBackend } from "./webgpu/backend.ts";
import { createGpuRuntime, NoAdapterError } from "./webgpu/runtime.ts";

export type BackendChoice = "auto" | "cpu" | "webgpu";

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

export async function selectBackend(choice: BackendChoice): Promise<BackendSelection> {
  if (choice === "cpu") return { backend: new CpuBackend(), reason: "asked for --backend cpu" };
  if (choice === "webgpu") {
    return { backend: await webgpuBackend(), reason: "asked for --backend webgpu" };
  }
  try {
    const gpu = await webgpuBackend();
    if (!gpu.rt.adapter.isSoftware) {
      return { backend: gpu, reason: `hardware adapter found: ${gpu.rt.adapter.description}` };
    }
    return {
      backend: new CpuBackend(),
      reason: `only a software adapter (${gpu.rt.adapter.description}); the CPU backend is faster`,
    };
  } catch (err) {
    if (!(err instanceof NoAdapterError)) throw err;
    return { backend: new CpuBackend(), reason: `no WebGPU adapter: ${err.message}` };
  }
}
