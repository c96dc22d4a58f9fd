/** WebGPU side of gpu/shaders/random.wgsl. */

import type { RandomKind } from "../types.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const KIND: Record<RandomKind, number> = { uniform: 0, bernoulli: 1, normal: 2 };

export function random(
  rt: GpuRuntime,
  length: number,
  kind: RandomKind,
  p: number,
  seed: number,
): GpuStorage {
  const y = rt.alloc(length, "f32");
  rt.run({
    family: "random",
    entry: "random",
    workgroupSize: [256, 1, 1],
    dispatch: GpuRuntime.grid(Math.ceil(length / 256)),
    params: [{ u32: length }, { u32: KIND[kind] }, { f32: p }, { u32: seed >>> 0 }],
    inputs: [],
    outputs: [y],
  });
  return y;
}
