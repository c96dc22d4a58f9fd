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

const inSize = (p: Pool2dParams) => p.n * p.c * p.h * p.w;
const outSize = (p: Pool2dParams) => p.n * p.c * p.oh * p.ow;

/** Runs one kernel over `total` invocations into fresh results of the given dtypes. */
function run(
  rt: GpuRuntime,
  entry: string,
  p: Pool2dParams,
  total: number,
  inputs: GpuStorage[],
  dtypes: ("f32" | "i32")[],
): GpuStorage[] {
  const outputs = dtypes.map((dtype) => rt.alloc(total, dtype));
  rt.run({
    family: "pool",
    entry,
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(total / WG[0])),
    params: params(p, total),
    inputs,
    outputs,
  });
  return outputs;
}

export function maxPool2d(
  rt: GpuRuntime,
  x: GpuStorage,
  p: Pool2dParams,
): { y: GpuStorage; argmax: GpuStorage } {
  checkPoolSizes("maxPool2d", p, { x: x.length });
  const [y, argmax] = run(rt, "maxForward", p, outSize(p), [x], ["f32", "i32"]);
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
  return run(rt, "maxBackward", p, inSize(p), [gy, argmax], ["f32"])[0];
}

export function avgPool2d(rt: GpuRuntime, x: GpuStorage, p: Pool2dParams): GpuStorage {
  checkPoolSizes("avgPool2d", p, { x: x.length });
  return run(rt, "avgForward", p, outSize(p), [x], ["f32"])[0];
}

export function avgPool2dBackward(rt: GpuRuntime, gy: GpuStorage, p: Pool2dParams): GpuStorage {
  checkPoolSizes("avgPool2dBackward", p, { gy: gy.length });
  return run(rt, "avgBackward", p, inSize(p), [gy], ["f32"])[0];
}
