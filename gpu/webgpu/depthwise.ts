/**
 * WebGPU side of gpu/shaders/depthwise.wgsl: direct kernels for depthwise convolutions
 * (groups == C == O), where a GEMM tile would waste all but one filter column.
 */

import type { Conv2dParams } from "../types.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const WG = [256, 1, 1] as const;

const i = (v: number): ParamValue => ({ i32: v });
const inv = (v: number): ParamValue => ({ f32: 1 / v });

export function isDepthwise(p: Conv2dParams): boolean {
  return p.groups === p.c && p.o === p.c && p.groups > 1;
}

function spatialParams(p: Conv2dParams): ParamValue[] {
  return [i(p.strideH), i(p.strideW), i(p.padH), i(p.padW), i(p.dilationH), i(p.dilationW)];
}

function linear(total: number) {
  return { workgroupSize: WG, dispatch: GpuRuntime.grid(Math.ceil(total / WG[0])) };
}

export function depthwiseForward(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, p: Conv2dParams) {
  const owq = Math.ceil(p.ow / 4);
  const total = p.n * p.c * p.oh * owq;
  const y = rt.alloc(p.n * p.c * p.oh * p.ow, "f32");
  rt.run({
    family: "depthwise",
    entry: "forward",
    ...linear(total),
    params: [
      { u32: total },
      i(p.c),
      i(p.h),
      i(p.w),
      i(p.oh),
      i(p.ow),
      i(owq),
      i(p.kh),
      i(p.kw),
      ...spatialParams(p),
    ],
    inputs: [x, w],
    outputs: [y],
  });
  return y;
}

export function depthwiseGradInput(rt: GpuRuntime, gy: GpuStorage, w: GpuStorage, p: Conv2dParams) {
  const wq = Math.ceil(p.w / 4);
  const total = p.n * p.c * p.h * wq;
  const gx = rt.alloc(p.n * p.c * p.h * p.w, "f32");
  rt.run({
    family: "depthwise",
    entry: "gradInput",
    ...linear(total),
    params: [
      { u32: total },
      i(p.c),
      i(p.h),
      i(p.w),
      i(p.oh),
      i(p.ow),
      i(wq),
      i(p.kh),
      i(p.kw),
      ...spatialParams(p),
      inv(p.strideH),
      inv(p.strideW),
    ],
    inputs: [gy, w],
    outputs: [gx],
  });
  return gx;
}

/** Per-slice partial sums of the weight gradient; the caller adds the `splits` slices. */
export function depthwiseGradWeight(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  p: Conv2dParams,
) {
  const khw = p.kh * p.kw;
  const lanes = p.c * khw;
  const pixels = p.n * p.oh * p.ow;
  // Enough slices for every core, each at least 32 pixels long.
  const splits = Math.max(1, Math.min(Math.ceil(4096 / lanes), 64, Math.floor(pixels / 32)));
  const perSplit = Math.ceil(pixels / splits);
  const total = splits * lanes;
  const partial = rt.alloc(total, "f32");
  rt.run({
    family: "depthwise",
    entry: "gradWeight",
    ...linear(total),
    params: [
      { u32: total },
      i(p.c),
      i(p.h),
      i(p.w),
      i(p.oh),
      i(p.ow),
      i(khw),
      i(p.kw),
      ...spatialParams(p),
      i(pixels),
      i(perSplit),
    ],
    inputs: [x, gy],
    outputs: [partial],
  });
  return { partial, splits, length: lanes };
}
