/** WebGPU side of gpu/shaders/pool.wgsl: max/avg pooling forward and backward. */

import type { Pool2dParams } from "../types.ts";
import { checkPoolSizes } from "../window-params.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const WG = [128, 1, 1] as const;

function params(p: Pool2dParams, total: number): ParamValue[] {
  return [
    { u32: total },
    { i32: p.h },
    { i32: p.w },
    { i32: p.kh },
    { i32: p.kw },
    { i32: p.strideH },
    { i32: p.strideW },
    { i32: p.padH },
    { i32: p.padW },
    { i32: p.oh },
    { i32: p.ow },
    { u32: p.countIncludePad ? 1 : 0 },
  ];
}

function run(
  rt: GpuRuntime,
  entry: string,
  p: Pool2dParams,
  total: number,
  inputs: GpuStorage[],
  outputs: GpuStorage[],
): void {
  rt.run({
    family: "pool",
    entry,
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(total / WG[0])),
    params: params(p, total),
    inputs,
    outputs,
  });
}

export function maxPool2d(
  rt: GpuRuntime,
  x: GpuStorage,
  p: Pool2dParams,
): { y: GpuStorage; argmax: GpuStorage } {
  checkPoolSizes("maxPool2d", p, { x: x.length });
  const total = p.n * p.c * p.oh * p.ow;
  const y = rt.alloc(total, "f32");
  const argmax = rt.alloc(total, "i32");
  run(rt, "maxForward", p, total, [x], [y, argmax]);
  return { y, argmax };
}

export function maxPool2dBackward(
  rt: GpuRuntime,
  gy: GpuStorage,
  argmax: GpuStorage,
  p: Pool2dParams,
): GpuStorage {
  checkPoolSizes("maxPool2dBackward", p, { gy: gy.length, argmax: argmax.length });
  if (argmax.dtype !== "i32") throw new Error("maxPool2dBackward: argmax must be i32");
  const total = p.n * p.c * p.h * p.w;
  const gx = rt.alloc(total, "f32");
  run(rt, "maxBackward", p, total, [gy, argmax], [gx]);
  return gx;
}

export function avgPool2d(rt: GpuRuntime, x: GpuStorage, p: Pool2dParams): GpuStorage {
  checkPoolSizes("avgPool2d", p, { x: x.length });
  const total = p.n * p.c * p.oh * p.ow;
  const y = rt.alloc(total, "f32");
  run(rt, "avgForward", p, total, [x], [y]);
  return y;
}

export function avgPool2dBackward(rt: GpuRuntime, gy: GpuStorage, p: Pool2dParams): GpuStorage {
  checkPoolSizes("avgPool2dBackward", p, { gy: gy.length });
  const total = p.n * p.c * p.h * p.w;
  const gx = rt.alloc(total, "f32");
  run(rt, "avgBackward", p, total, [gy], [gx]);
  return gx;
}
