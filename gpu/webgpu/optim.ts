/** WebGPU side of gpu/shaders/optim.wgsl: in-place SGD and Adam updates. */

import type { AdamParams, SgdParams } from "../types.ts";
import { checkStateLengths as checkLengths } from "../optim-checks.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const WG = [256, 1, 1] as const;

/** One update pass over the parameter's elements; `params` follow its length. */
function run(
  rt: GpuRuntime,
  entry: "sgd" | "adam",
  param: GpuStorage,
  params: ParamValue[],
  inputs: GpuStorage[],
  outputs: GpuStorage[],
): void {
  rt.run({
    family: "optim",
    entry,
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(param.length / WG[0])),
    params: [{ u32: param.length }, ...params],
    inputs,
    outputs,
  });
}

/** With momentum 0 the buffer is bound but never touched, so any storage may stand in. */
export function sgdStep(
  rt: GpuRuntime,
  param: GpuStorage,
  grad: GpuStorage,
  momentumBuf: GpuStorage,
  p: SgdParams,
): void {
  checkLengths("sgdStep", param, grad, ...(p.momentum !== 0 ? [momentumBuf] : []));
  const flags = [p.nesterov, p.firstStep].map((on) => ({ u32: on ? 1 : 0 }));
  const rates = [p.lr, p.momentum, p.dampening, p.weightDecay].map((f32) => ({ f32 }));
  run(rt, "sgd", param, [...rates, ...flags], [grad], [param, momentumBuf]);
}

export function adamStep(
  rt: GpuRuntime,
  param: GpuStorage,
  grad: GpuStorage,
  m: GpuStorage,
  v: GpuStorage,
  p: AdamParams,
): void {
  checkLengths("adamStep", param, grad, m, v);
  const stepSize = p.lr / (1 - Math.pow(p.beta1, p.step));
  const sqrtBc2 = Math.sqrt(1 - Math.pow(p.beta2, p.step));
  const values = [stepSize, p.beta1, p.beta2, p.eps, p.weightDecay, sqrtBc2];
  run(rt, "adam", param, values.map((f32) => ({ f32 })), [grad], [param, m, v]);
}
