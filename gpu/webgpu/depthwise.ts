/**
 * WebGPU side of gpu/shaders/depthwise.wgsl: direct kernels for depthwise convolutions
 * (groups == C == O), where a GEMM tile would waste all but one filter column.
 */

import type { Conv2dParams } from "../types.ts";
import { windowParams } from "./conv-window.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

export function isDepthwise(p: Conv2dParams): boolean {
  return p.groups === p.c && p.o === p.c && p.groups > 1;
}

/** What one kernel walks: `total` invocations, 4-pixel `quads` per row, the weight-sum split. */
interface Walk {
  total: number;
  quads: number;
  pixels: number;
  perSplit: number;
}

/**
 * The rounding defines of depthwise.wgsl at the params' precision; `roundOut` is false where a
 * split sum rounds the total instead.
 */
function roundingDefines(p: Conv2dParams, roundOut: boolean): Record<string, string> {
  const half = p.precision === "f16";
  return {
    ROUND: half ? "roundHalf" : "",
    ROUND4: half ? "roundHalf4" : "",
    ROUND_OUT: half && roundOut ? "roundHalf" : "",
  };
}

/** Runs one kernel of depthwise.wgsl with the family's one parameter record. */
function run(
  rt: GpuRuntime,
  entry: "forward" | "gradInput" | "gradWeight",
  p: Conv2dParams,
  walk: Walk,
  inputs: [GpuStorage, GpuStorage],
  out: GpuStorage,
  roundOut = true,
): void {
  rt.run({
    family: "depthwise",
    entry,
    defines: roundingDefines(p, roundOut),
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(walk.total / WG[0])),
    params: [
      ...windowParams(p),
      { u32: walk.total },
      ...[walk.quads, walk.pixels, walk.perSplit].map((v) => ({ i32: v })),
    ],
    inputs,
    outputs: [out],
  });
}

export function depthwiseForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, p: Conv2dParams) {
  const quads = Math.ceil(p.ow / 4);
  const y = rt.alloc(p.n * p.c * p.oh * p.ow, "f32");
  run(rt, "forward", p, { total: p.n * p.c * p.oh * quads, quads, pixels: 0, perSplit: 0 }, [
    x,
    w,
  ], y);
  return y;
}

export function depthwiseGradInput(rt: GpuRuntime, gy: GpuStorage, w: GpuStorage, p: Conv2dParams) {
  const quads = Math.ceil(p.w / 4);
  const gx = rt.alloc(p.n * p.c * p.h * p.w, "f32");
  run(rt, "gradInput", p, { total: p.n * p.c * p.h * quads, quads, pixels: 0, perSplit: 0 }, [
    gy,
    w,
  ], gx);
  return gx;
}

/**
 * Per-slice partial sums of the weight gradient; the caller adds the `splits` slices (and, at
 * f16, rounds their total; a single slice is rounded here).
 */
export function depthwiseGradWeight(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  p: Conv2dParams,
) {
  const lanes = p.c * p.kh * p.kw;
  const pixels = p.n * p.oh * p.ow;
  // Enough slices for every core, each at least 32 pixels long.
  const splits = Math.max(1, Math.min(Math.ceil(4096 / lanes), 64, Math.floor(pixels / 32)));
  const perSplit = Math.ceil(pixels / splits);
  const total = splits * lanes;
  const partial = rt.alloc(total, "f32");
  run(rt, "gradWeight", p, { total, quads: 0, pixels, perSplit }, [x, gy], partial, splits === 1);
  return { partial, splits, length: lanes };
}
