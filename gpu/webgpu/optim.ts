/**
 * WebGPU side of gpu/shaders/optim.wgsl: in-place SGD and Adam updates of a parameter group.
 * On a GPU (the runtime's hardware class) the members' parameters and gradients are packed end
 * to end with buffer copies (no pipeline, bind group or uniform each: ~1.5 us of host time where
 * a dispatch costs ~25 us), updated by one kernel against the group's state, and the parameters
 * copied back; packs are capped at PACK_ELEMENTS so their scratch stays small. On a software
 * adapter the copies would cost more CPU time than the dispatches they save (lavapipe: a
 * ResNeXt-101 SGD step 400 -> 650 ms), so each member is updated where it lies. A loss-scaled
 * update binds the scale and its overflow state after the kernel's own buffers.
 */

import { checkScaling } from "../cpu/loss-scale.ts";
import type { AdamParams, SgdParams } from "../types.ts";
import { checkGroup } from "../optim-checks.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const WG = [256, 1, 1] as const;

/** 16 Mi elements (64 MiB) per pack: ResNeXt-101's 88 M parameters take 6 dispatches. */
export const PACK_ELEMENTS = 1 << 24;

/** One pack of consecutive members and where its state starts. */
interface Pack {
  params: GpuStorage[];
  grads: GpuStorage[];
  base: number;
  length: number;
}

/**
 * Splits the members into consecutive packs of at most `cap` elements (or one larger member;
 * a cap of 0 gives every member a pack of its own).
 */
export function packsOf(
  params: readonly { length: number }[],
  base: number,
  cap = PACK_ELEMENTS,
): { first: number; count: number; base: number; length: number }[] {
  const packs: { first: number; count: number; base: number; length: number }[] = [];
  let at = base;
  params.forEach((p, k) => {
    const last = packs[packs.length - 1];
    if (last && last.length + p.length <= cap) {
      last.count++;
      last.length += p.length;
    } else packs.push({ first: k, count: 1, base: at, length: p.length });
    at += p.length;
  });
  return packs;
}

/**
 * Runs `update(param, grad, pack)` once per pack: on the member's own storages when a pack has
 * one member, else on packed copies that are written back afterwards.
 */
function perPack(
  rt: GpuRuntime,
  params: readonly GpuStorage[],
  grads: readonly GpuStorage[],
  base: number,
  update: (param: GpuStorage, grad: GpuStorage, pack: Pack) => void,
): void {
  const cap = rt.adapter.tiles === "hardware" ? PACK_ELEMENTS : 0;
  for (const { first, count, base: at, length } of packsOf(params, base, cap)) {
    const pack = {
      params: params.slice(first, first + count),
      grads: grads.slice(first, first + count),
      base: at,
      length,
    };
    if (count === 1) {
      update(pack.params[0], pack.grads[0], pack);
      continue;
    }
    const flatParam = rt.alloc(length, "f32");
    const flatGrad = rt.alloc(length, "f32");
    let offset = 0;
    pack.params.forEach((p, k) => {
      rt.copyElements(p, 0, flatParam, offset, p.length);
      rt.copyElements(pack.grads[k], 0, flatGrad, offset, p.length);
      offset += p.length;
    });
    update(flatParam, flatGrad, pack);
    offset = 0;
    for (const p of pack.params) {
      rt.copyElements(flatParam, offset, p, 0, p.length);
      offset += p.length;
    }
    rt.release(flatParam);
    rt.release(flatGrad);
  }
}

/** A LossScaling on this backend's storage. */
type GpuScaling = { readonly scale: GpuStorage; readonly state: GpuStorage };

/** optim.wgsl's SCALING, SKIP and UNSCALE, the scale bound at `binding` and the state after it. */
function scalingDefines(scaling: GpuScaling | undefined, binding: number): Record<string, string> {
  if (!scaling) return { SCALING: "", SKIP: "", UNSCALE: "" };
  checkScaling("optimiser", scaling.scale, scaling.state);
  return {
    SCALING: [
      `@group(0) @binding(${binding}) var<storage, read_write> SCALE: array<f32>;`,
      `@group(0) @binding(${binding + 1}) var<storage, read_write> STATE: array<f32>;`,
    ].join("\n"),
    SKIP: "if (STATE[0] != 0.0) {\n    return;\n  }",
    UNSCALE: " * (1.0 / SCALE[0])",
  };
}

function run(
  rt: GpuRuntime,
  entry: "sgd" | "adam",
  pack: Pack,
  values: ParamValue[],
  inputs: GpuStorage[],
  outputs: GpuStorage[],
  scaling: GpuScaling | undefined,
): void {
  rt.run({
    family: "optim",
    entry,
    defines: scalingDefines(scaling, 1 + inputs.length + outputs.length),
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(pack.length / WG[0])),
    params: [{ u32: pack.length }, { u32: pack.base }, ...values],
    inputs,
    outputs: scaling ? [...outputs, scaling.scale, scaling.state] : outputs,
  });
}

/** With momentum 0 the buffer is bound but never touched, so any storage may stand in. */
export function sgdStepGroup(
  rt: GpuRuntime,
  params: readonly GpuStorage[],
  grads: readonly GpuStorage[],
  momentumBuf: GpuStorage,
  base: number,
  p: SgdParams,
  scaling?: GpuScaling,
): void {
  const state = p.momentum !== 0 ? [momentumBuf] : [];
  checkGroup("sgdStepGroup", params, grads, base, state);
  const flags = [p.nesterov, p.firstStep].map((on) => ({ u32: on ? 1 : 0 }));
  const rates = [p.lr, p.momentum, p.dampening, p.weightDecay].map((f32) => ({ f32 }));
  perPack(rt, params, grads, base, (param, grad, pack) => {
    run(rt, "sgd", pack, [...rates, ...flags], [grad], [param, momentumBuf], scaling);
  });
}

export function adamStepGroup(
  rt: GpuRuntime,
  params: readonly GpuStorage[],
  grads: readonly GpuStorage[],
  m: GpuStorage,
  v: GpuStorage,
  base: number,
  p: AdamParams,
  scaling?: GpuScaling,
): void {
  checkGroup("adamStepGroup", params, grads, base, [m, v]);
  const stepSize = p.lr / (1 - Math.pow(p.beta1, p.step));
  const sqrtBc2 = Math.sqrt(1 - Math.pow(p.beta2, p.step));
  const values = [stepSize, p.beta1, p.beta2, p.eps, p.weightDecay, sqrtBc2];
  perPack(rt, params, grads, base, (param, grad, pack) => {
    run(rt, "adam", pack, values.map((f32) => ({ f32 })), [grad], [param, m, v], scaling);
  });
}
