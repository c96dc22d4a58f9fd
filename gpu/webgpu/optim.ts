/** WebGPU side of gpu/shaders/optim.wgsl: in-place SGD and Adam updates. */

import type { AdamParams, SgdParams } from "../types.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

function checkLengths(op: string, param: GpuStorage, ...others: GpuStorage[]): void {
  for (const o of others) {
    if (o.length !== param.length) {
      throw new Error(`${op}: state of ${o.length} elements for a parameter of ${param.length}`);
    }
  }
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
  rt.run({
    family: "optim",
    entry: "sgd",
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(param.length / WG[0])),
    params: [
      { u32: param.length },
      { f32: p.lr },
      { f32: p.momentum },
      { f32: p.dampening },
      { f32: p.weightDecay },
      { u32: p.nesterov ? 1 : 0 },
      { u32: p.firstStep ? 1 : 0 },
    ],
    inputs: [grad],
    outputs: [param, momentumBuf],
  });
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
  rt.run({
    family: "optim",
    entry: "adam",
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(param.length / WG[0])),
    params: [
      { u32: param.length },
      { f32: p.lr / (1 - Math.pow(p.beta1, p.step)) },
      { f32: p.beta1 },
      { f32: p.beta2 },
      { f32: p.eps },
      { f32: p.weightDecay },
      { f32: Math.sqrt(1 - Math.pow(p.beta2, p.step)) },
    ],
    inputs: [grad],
    outputs: [param, m, v],
  });
}
