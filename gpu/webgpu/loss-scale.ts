/** WebGPU side of gpu/shaders/loss-scale.wgsl: the overflow flag and the scale's update. */

import { checkScaling, checkState } from "../cpu/loss-scale.ts";
import type { LossScaleParams } from "../types.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

/** One dispatch per gradient, each raising the shared flag where it meets a non-finite value. */
export function flagNonFinite(
  rt: GpuRuntime,
  grads: readonly GpuStorage[],
  state: GpuStorage,
): void {
  checkState("flagNonFinite", state);
  for (const g of grads) {
    rt.run({
      family: "loss-scale",
      entry: "flag",
      workgroupSize: WG,
      dispatch: GpuRuntime.grid(Math.ceil(g.length / WG[0])),
      params: [{ u32: g.length }],
      inputs: [g],
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
