/**
 * Readies a backend for f16 GEMM operands (gpu/types.ts GemmPrecision): on WebGPU the staged
 * tiles become f16 where the device offers shader-f16 and they pass their self-test
 * (webgpu/half-tiles.ts); elsewhere the operands are rounded to half in f32, which gives the same
 * numbers without the speed. The line it returns goes into the run's log, so a run says which.
 */

import type { Backend } from "./backend.ts";
import { WebGpuBackend } from "./webgpu/backend.ts";
import { enableHalfTiles } from "./webgpu/half-tiles.ts";

export async function prepareHalfPrecision(backend: Backend): Promise<string> {
  if (backend instanceof WebGpuBackend) {
    const reason = await enableHalfTiles(backend.rt);
    return reason === null
      ? "f16 mixed precision: GEMM tiles staged in f16 (shader-f16 self-test passed)"
      : `f16 mixed precision: GEMM operands rounded to half in f32 tiles (${reason})`;
  }
  return `f16 mixed precision emulated on ${backend.name}: operands rounded to half in f32, ` +
    "the same numbers as a GPU's, no faster";
}
