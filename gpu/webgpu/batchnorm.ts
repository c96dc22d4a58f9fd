/**
 * WebGPU side of gpu/shaders/batchnorm.wgsl. Statistics and parameter gradients are per-channel
 * workgroup reductions (one workgroup per channel); apply and the input gradient are
 * element-wise.
 */

import type { BatchNormShape } from "../types.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const REDUCE_WG = [256, 1, 1] as const;
const ELEMENT_WG = [256, 1, 1] as const;

function params(s: BatchNormShape, eps: number, batchStats: boolean): ParamValue[] {
  return [
    { u32: s.n },
    { u32: s.c },
    { u32: s.spatial },
    { f32: eps },
    { u32: s.n * s.c * s.spatial },
    { u32: batchStats ? 1 : 0 },
  ];
}

function checkShape(op: string, x: GpuStorage, s: BatchNormShape): void {
  if (x.length !== s.n * s.c * s.spatial) {
    throw new Error(`${op}: input of ${x.length} elements is not [${s.n}, ${s.c}, ${s.spatial}]`);
  }
}

const elements = (s: BatchNormShape) =>
  GpuRuntime.grid(Math.ceil((s.n * s.c * s.spatial) / ELEMENT_WG[0]));

export function batchNormStats(
  rt: GpuRuntime,
  x: GpuStorage,
  s: BatchNormShape,
): { mean: GpuStorage; variance: GpuStorage } {
  checkShape("batchNormStats", x, s);
  const mean = rt.alloc(s.c, "f32");
  const variance = rt.alloc(s.c, "f32");
  rt.run({
    family: "batchnorm",
    entry: "stats",
    workgroupSize: REDUCE_WG,
    dispatch: GpuRuntime.grid(s.c),
    params: params(s, 0, true),
    inputs: [x],
    outputs: [mean, variance],
  });
  return { mean, variance };
}

export function batchNormApply(
  rt: GpuRuntime,
  x: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  beta: GpuStorage,
  eps: number,
  s: BatchNormShape,
): GpuStorage {
  checkShape("batchNormApply", x, s);
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "batchnorm",
    entry: "apply",
    workgroupSize: ELEMENT_WG,
    dispatch: elements(s),
    params: params(s, eps, false),
    inputs: [x, mean, variance, gamma, beta],
    outputs: [y],
  });
  return y;
}

export function batchNormBackward(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: GpuStorage; gGamma: GpuStorage; gBeta: GpuStorage } {
  checkShape("batchNormBackward", x, s);
  const gGamma = rt.alloc(s.c, "f32");
  const gBeta = rt.alloc(s.c, "f32");
  const gx = rt.alloc(x.length, "f32");
  const p = params(s, eps, batchStats);
  rt.run({
    family: "batchnorm",
    entry: "gradParams",
    workgroupSize: REDUCE_WG,
    dispatch: GpuRuntime.grid(s.c),
    params: p,
    inputs: [x, gy, mean, variance],
    outputs: [gGamma, gBeta],
  });
  rt.run({
    family: "batchnorm",
    entry: "gradInput",
    workgroupSize: ELEMENT_WG,
    dispatch: elements(s),
    params: p,
    inputs: [x, gy, mean, variance, gamma, gGamma, gBeta],
    outputs: [gx],
  });
  return { gx, gGamma, gBeta };
}
