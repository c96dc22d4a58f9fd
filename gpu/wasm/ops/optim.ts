/** Drivers of the in-place optimiser updates (kernels/optim.ts). */

import type { AdamParams, SgdParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { checkStateLengths } from "../../optim-checks.ts";
import { runDense } from "./elementwise.ts";

function check(op: string, param: WasmStorage, ...others: WasmStorage[]): void {
  for (const s of [param, ...others]) {
    if (s.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${s.dtype}`);
    checkStateLengths(op, param, s);
  }
}

/** Writes the slots both updates read: parameter, gradient, first state (and second). */
function begin(rt: WasmRuntime, param: WasmStorage, grad: WasmStorage, ...state: WasmStorage[]) {
  const p = rt.begin();
  p[S.OPT_PARAM] = param.ptr;
  p[S.OPT_GRAD] = grad.ptr;
  [S.OPT_M, S.OPT_V].forEach((slot, i) => {
    if (state[i]) p[slot] = state[i].ptr;
  });
  return { p, f: rt.paramsF32 };
}

export function sgdStep(
  rt: WasmRuntime,
  param: WasmStorage,
  grad: WasmStorage,
  buf: WasmStorage,
  q: SgdParams,
): void {
  const momentum = q.momentum !== 0;
  check("sgdStep", param, grad, ...(momentum ? [buf] : []));
  const { p, f } = begin(rt, param, grad, buf);
  f[S.OPT_LR] = q.lr;
  f[S.OPT_A] = q.momentum;
  f[S.OPT_B] = q.dampening;
  f[S.OPT_WD] = q.weightDecay;
  p[S.OPT_FLAGS] = (momentum ? S.OPT_MOMENTUM : 0) | (q.firstStep ? S.OPT_FIRST_STEP : 0) |
    (q.nesterov ? S.OPT_NESTEROV : 0);
  runDense(rt, S.D_SGD, param.length);
}

export function adamStep(
  rt: WasmRuntime,
  param: WasmStorage,
  grad: WasmStorage,
  m: WasmStorage,
  v: WasmStorage,
  q: AdamParams,
): void {
  check("adamStep", param, grad, m, v);
  const { f } = begin(rt, param, grad, m, v);
  f[S.OPT_LR] = q.lr / (1 - Math.pow(q.beta1, q.step));
  f[S.OPT_A] = q.beta1;
  f[S.OPT_B] = q.beta2;
  f[S.OPT_WD] = q.weightDecay;
  f[S.OPT_EPS] = q.eps;
  f[S.OPT_BC2] = Math.sqrt(1 - Math.pow(q.beta2, q.step));
  runDense(rt, S.D_ADAM, param.length);
}
