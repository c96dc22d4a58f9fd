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
import { createGpuRuntime, NoAdapterError } from "./webgpu/device.ts";

/** `cpu` is the WASM SIMD backend; `cpu-reference` the TypeScript oracle. */
export const BACKEND_CHOICES = ["auto", "webgpu", "cpu", "cpu-reference"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendSelection {
  backend: Backend;
  reason: string;
}

const gpuBackends = new Map<GPUPowerPreference, Promise<WebGpuBackend>>();

/**
 * One WebGPU device per process and power preference: pipelines and pooled buffers are shared
 * by every caller. "low-power" is the second adapter of a two-GPU machine (train
 * --CUDA_VISIBLE_DEVICES 1).
 */
export function webgpuBackend(
  powerPreference: GPUPowerPreference = "high-performance",
): Promise<WebGpuBackend> {
  let made = gpuBackends.get(powerPreference);
  if (!made) {
    made = createGpuRuntime(powerPreference).then((rt) => new WebGpuBackend(rt));
    made.catch(() => gpuBackends.delete(powerPreference));
    gpuBackends.set(powerPreference, made);
  }
  return made;
}

/** The environment variable that caps the WASM backend's kernel threads. */
export const CPU_THREADS_ENV = "SDU_CPU_THREADS";

/**
 * Kernel threads asked for through SDU_CPU_THREADS (undefined: one per core). Runs that share a
 * machine should split its cores this way: kernel threads spin while they wait for each other, and
 * on oversubscribed cores every run slows far more than its share.
 */
export function cpuThreadsFromEnv(): number | undefined {
  let raw: string | undefined;
  try {
    raw = Deno.env.get(CPU_THREADS_ENV);
  } catch {
    return undefined;
  }
  if (raw === undefined || raw.trim() === "") return undefined;
  const threads = Number(raw);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`${CPU_THREADS_ENV}=${raw}: expected a positive whole number of threads`);
  }
  return threads;
}

async function fastCpu(reason: string): Promise<BackendSelection> {
  const threads = cpuThreadsFromEnv();
  try {
    const backend = await createWasmBackend(threads);
    const blas = backend.rt.blas;
    return { backend, reason: blas.path ? reason : `${reason}; GEMMs on WASM: ${blas.reason}` };
  } catch (err) {
    return {
      backend: new CpuBackend(),
      reason: `${reason}; WASM kernels unavailable (${
        (err as Error).message
      }), using the TypeScript reference`,
    };
  }
}

/** Which adapter `webgpu` and `auto` ask Deno for (default "high-performance"). */
export interface SelectOptions {
  powerPreference?: GPUPowerPreference;
}

export async function selectBackend(
  choice: BackendChoice,
  o: SelectOptions = {},
): Promise<BackendSelection> {
  if (choice === "cpu-reference") {
    return { backend: new CpuBackend(), reason: "asked for --backend cpu-reference" };
  }
  if (choice === "cpu") return await fastCpu("asked for --backend cpu");
  if (choice === "webgpu") {
    return {
      backend: await webgpuBackend(o.powerPreference),
      reason: "asked for --backend webgpu",
    };
  }
  try {
    const gpu = await webgpuBackend(o.powerPreference);
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
