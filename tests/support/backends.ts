/**
 * The backends a test runs on: the TypeScript reference (`cpu`, the oracle), the WASM SIMD CPU
 * backend (`wasm`, with the system BLAS for its GEMMs when one is found), and WebGPU when an
 * adapter exists (Mesa's software adapter in CI). With REQUIRE_WEBGPU=1 / REQUIRE_BLAS=1 (set by
 * .ci/run) a missing adapter or BLAS fails the run instead of silently testing less.
 */

import type { Backend } from "../../gpu/backend.ts";
import { CpuBackend } from "../../gpu/cpu/backend.ts";
import { webgpuBackend } from "../../gpu/select.ts";
import { WebGpuBackend } from "../../gpu/webgpu/backend.ts";
import { createGpuRuntime } from "../../gpu/webgpu/device.ts";
import { createWasmBackend, type WasmBackend } from "../../gpu/wasm/backend.ts";

let gpu: Promise<Backend | null> | null = null;
let gpuHardwareTiles: Promise<Backend | null> | null = null;
let wasm: Promise<Backend> | null = null;
let wasmSplit: Promise<WasmBackend> | null = null;
let wasmGemmSplit: Promise<WasmBackend> | null = null;

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

/**
 * A second WebGPU device on the same adapter that takes the tiles a hardware GPU gets (small
 * register tiles staged through workgroup memory): on Mesa's software adapter in CI they run
 * too, so the kernels a real GPU runs are checked on every commit, not only on a lent device.
 */
export function gpuHardwareTilesOrNull(): Promise<Backend | null> {
  gpuHardwareTiles ??= gpuOrNull().then(async (g) => {
    if (!(g instanceof WebGpuBackend)) return null;
    if (g.rt.adapter.tiles === "hardware") return g;
    const backend = new WebGpuBackend(
      await createGpuRuntime("high-performance", { tiles: "hardware", tuned: null }),
    );
    return backend;
  });
  return gpuHardwareTiles;
}

/** `list` and, where WebGPU exists, the hardware-tile device: for the GEMM-heavy tests. */
export async function withHardwareTiles(list: Backend[]): Promise<Backend[]> {
  const hardware = await gpuHardwareTilesOrNull();
  return hardware && !list.includes(hardware) ? [...list, hardware] : list;
}

function requireBlas(b: WasmBackend): WasmBackend {
  if (!b.rt.blas.path && Deno.env.get("REQUIRE_BLAS") === "1") {
    throw new Error(`REQUIRE_BLAS=1 but the WASM backend has no BLAS: ${b.rt.blas.reason}`);
  }
  return b;
}

export function wasmBackend(): Promise<Backend> {
  wasm ??= createWasmBackend().then(requireBlas);
  return wasm;
}

/**
 * The WASM backend on 3 threads with every kernel split over all of them, however small: the
 * op tests' tiny odd shapes then leave uneven and empty shares, which the default backend (which
 * keeps small kernels on one thread) never sees. Runtimes are shared per thread count, so it
 * picks 5 threads where 3 is the machine's default and would force-split the default backend too.
 * `blas: false` keeps its GEMMs on the WASM kernels.
 */
export function wasmSplitBackend(blas = true): Promise<WasmBackend> {
  const made = blas ? wasmSplit : wasmGemmSplit;
  if (made) return made;
  const split = (async () => {
    const b = await createWasmBackend(navigator.hardwareConcurrency === 3 ? 5 : 3, { blas });
    b.rt.alwaysParallel = true;
    return blas ? requireBlas(b) : b;
  })();
  if (blas) wasmSplit = split;
  else wasmGemmSplit = split;
  return split;
}

export const cpu = new CpuBackend();

/** The fast backends every kernel is compared against the reference on. */
export async function acceleratedBackends(): Promise<Backend[]> {
  const g = await gpuOrNull();
  const w = await wasmBackend();
  return g ? [w, g] : [w];
}

/**
 * What op tests compare against the reference: the accelerated backends plus the force-split
 * WASM backend, so the thread partitioning of every kernel meets odd sizes and batch 1.
 */
export async function comparedBackends(): Promise<Backend[]> {
  const [w, g] = [await wasmBackend(), await gpuOrNull()];
  const split = await wasmSplitBackend();
  return g ? [w, split, g] : [w, split];
}

export async function allBackends(): Promise<Backend[]> {
  return [cpu, ...await acceleratedBackends()];
}
