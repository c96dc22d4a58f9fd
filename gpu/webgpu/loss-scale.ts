/** WebGPU side of gpu/shaders/loss-scale.wgsl: the overflow flag and the scale's update. */

import { checkScaling, checkState } from "../cpu/loss-scale.ts";
import type { LossScaleParams } from "../types.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

/**
 * Gradients one flag dispatch reads: every storage binding the stage allows but the state's,
 * at most 15. ResNeXt-101's ~300 gradients then take about 20 dispatches (WebGPU's default 8
 * bindings) or fewer, not 300.
 */
export function gradsPerFlag(rt: GpuRuntime): number {
  const bindings = Number(rt.device.limits.maxStorageBuffersPerShaderStage) || 8;
  return Math.max(1, Math.min(15, bindings - 1));
}

/** The flag kernel's text for `count` gradient bindings (loss-scale.wgsl's `flag`). */
function flagDefines(count: number): Record<string, string> {
  const ends = Array.from({ length: count }, (_, j) => `end${j}: u32`).join(", ");
  const bindings = Array.from(
    { length: count },
    (_, j) => `@group(0) @binding(${j + 1}) var<storage, read> G${j}: array<f32>;`,
  );
  bindings.push(`@group(0) @binding(${count + 1}) var<storage, read_write> STATE: array<f32>;`);
  const pick = Array.from({ length: count }, (_, j) => {
    const start = j === 0 ? "0u" : `P.end${j - 1}`;
    return `${j === 0 ? "" : "else "}if (i < P.end${j}) { v = G${j}[i - ${start}]; }`;
  }).join(" ");
  return { ENDS: ends, GRAD_BINDINGS: bindings.join("\n"), PICK: pick };
}

/**
 * Raises the shared flag where any gradient holds a non-finite value: the gradients go
 * gradsPerFlag at a time into one dispatch, the last group padded with its own last gradient
 * over an empty range, so every dispatch runs the same pipeline.
 */
export function flagNonFinite(
  rt: GpuRuntime,
  grads: readonly GpuStorage[],
  state: GpuStorage,
): void {
  checkState("flagNonFinite", state);
  const count = gradsPerFlag(rt);
  const defines = flagDefines(count);
  for (let first = 0; first < grads.length; first += count) {
    const group = grads.slice(first, first + count);
    const ends: number[] = [];
    let total = 0;
    for (const g of group) ends.push(total += g.length);
    while (group.length < count) {
      group.push(group[group.length - 1]);
      ends.push(total);
    }
    if (total === 0) continue;
    rt.run({
      family: "loss-scale",
      entry: "flag",
      defines,
      workgroupSize: WG,
      dispatch: GpuRuntime.grid(Math.ceil(total / WG[0])),
      params: [{ u32: total }, ...ends.map((u32) => ({ u32 }))],
      inputs: group,
      outputs: [state],
    });
  }
}

export function updateLossScale(
  rt: GpuRuntime,
  scale: GpuStorage,
  state: GpuStorage,
  p: LossScaleParams,
): void {
  checkScaling("updateLossScale", scale, state);
  rt.run({
    family: "loss-scale",
    entry: "update",
    workgroupSize: [1, 1, 1],
    dispatch: [1, 1, 1],
    params: [{ f32: p.growth }, { f32: p.backoff }, { f32: p.interval }],
    inputs: [],
    outputs: [scale, state],
  });
}
