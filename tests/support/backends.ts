/**
 * The backends a test runs on. The CPU twin always; WebGPU when an adapter exists (Mesa's
 * software adapter in CI). With REQUIRE_WEBGPU=1 (set by .ci/run) a missing adapter fails the
 * run instead of silently testing only the CPU.
 */

import type { Backend } from "../../gpu/backend.ts";
import { CpuBackend } from "../../gpu/cpu/backend.ts";
import { webgpuBackend } from "../../gpu/select.ts";

let gpu: Promise<Backend | null> | null = null;

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

export const cpu = new CpuBackend();

export async function allBackends(): Promise<Backend[]> {
  const g = await gpuOrNull();
  return g ? [cpu, g] : [cpu];
}
