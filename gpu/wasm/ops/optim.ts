/**
 * Drivers of the in-place optimiser updates (kernels/optim.ts): one dense task per member of
 * the group, its state read at the member's place in the group's buffers. A loss-scaled update
 * (mixed precision, meant for GPUs) runs the CPU twin on the heap views instead.
 */

import type { AdamParams, SgdParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { checkGroup } from "../../optim-checks.ts";
import { runDense } from "./elementwise.ts";
import * as twin from "../../cpu/optim.ts";

/**
 * Runs `kind` once per member: `fill` writes the hyper-parameters, the slots get the member's
 * parameter, gradient and state addresses (4 bytes per element past the state's start).
 */
function perMember(
  rt: WasmRuntime,
  kind: number,
  params: readonly WasmStorage[],
  grads: readonly WasmStorage[],
  state: readonly WasmStorage[],
  base: number,
  fill: (p: Int32Array, f: Float32Array) => void,
): void {
  let at = base;
  params.forEach((param, k) => {
    const p = rt.begin();
    p[S.OPT_PARAM] = param.ptr;
    p[S.OPT_GRAD] = grads[k].ptr;
    [S.OPT_M, S.OPT_V].forEach((slot, i) => {
      if (state[i]) p[slot] = state[i].ptr + at * 4;
    });
    fill(p, rt.paramsF32);
    runDense(rt, kind, param.length);
    at += param.length;
  });
}

export function sgdStepGroup(
  rt: WasmRuntime,
  params: readonly WasmStorage[],
  grads: readonly WasmStorage[],
  buf: WasmStorage,
  base: number,
  q: SgdParams,
  scaling?: twin.HostScaling,
): void {
  if (scaling) return twin.sgdStepGroup(params, grads, buf, base, q, scaling);
  const momentum = q.momentum !== 0;
  const state = momentum ? [buf] : [];
  checkGroup("sgdStepGroup", params, grads, base, state);
  const flags = (momentum ? S.OPT_MOMENTUM : 0) | (q.firstStep ? S.OPT_FIRST_STEP : 0) |
    (q.nesterov ? S.OPT_NESTEROV : 0);
  perMember(rt, S.D_SGD, params, grads, state, base, (p, f) => {
    f[S.OPT_LR] = q.lr;
    f[S.OPT_A] = q.momentum;
    f[S.OPT_B] = q.dampening;
    f[S.OPT_WD] = q.weightDecay;
    p[S.OPT_FLAGS] = flags;
  });
}

export function adamStepGroup(
  rt: WasmRuntime,
  params: readonly WasmStorage[],
  grads: readonly WasmStorage[],
  m: WasmStorage,
  v: WasmStorage,
  base: number,
  q: AdamParams,
  scaling?: twin.HostScaling,
): void {
  if (scaling) return twin.adamStepGroup(params, grads, m, v, base, q, scaling);
  checkGroup("adamStepGroup", params, grads, base, [m, v]);
  perMember(rt, S.D_ADAM, params, grads, [m, v], base, (_p, f) => {
    f[S.OPT_LR] = q.lr / (1 - Math.pow(q.beta1, q.step));
    f[S.OPT_A] = q.beta1;
    f[S.OPT_B] = q.beta2;
    f[S.OPT_WD] = q.weightDecay;
    f[S.OPT_EPS] = q.eps;
    f[S.OPT_BC2] = Math.sqrt(1 - Math.pow(q.beta2, q.step));
  });
}
