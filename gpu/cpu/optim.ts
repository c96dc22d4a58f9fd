/**
 * CPU twins of gpu/shaders/optim.wgsl: PyTorch's SGD and Adam update rules, in place.
 * Scalars are rounded to f32 first so both backends see the same hyper-parameters.
 */

import type { AdamParams, HostStorage, SgdParams } from "../types.ts";
import { checkStateLengths as checkLengths } from "../optim-checks.ts";
import { f32 } from "./storage.ts";

const fround = Math.fround;

export function sgdStep(
  param: HostStorage,
  grad: HostStorage,
  momentumBuf: HostStorage,
  p: SgdParams,
): void {
  const ps = f32(param);
  const gs = f32(grad);
  const buf = f32(momentumBuf);
  const useMomentum = p.momentum !== 0;
  checkLengths("sgdStep", ps, gs, ...(useMomentum ? [buf] : []));
  const [lr, momentum, dampening, wd] = [p.lr, p.momentum, p.dampening, p.weightDecay].map(fround);
  for (let i = 0; i < ps.length; i++) {
    let d = fround(gs[i] + wd * ps[i]);
    if (useMomentum) {
      const b = p.firstStep ? d : fround(momentum * buf[i] + (1 - dampening) * d);
      buf[i] = b;
      d = p.nesterov ? fround(d + momentum * b) : b;
    }
    ps[i] = ps[i] - lr * d;
  }
}

export function adamStep(
  param: HostStorage,
  grad: HostStorage,
  m: HostStorage,
  v: HostStorage,
  p: AdamParams,
): void {
  const ps = f32(param);
  const gs = f32(grad);
  const ms = f32(m);
  const vs = f32(v);
  checkLengths("adamStep", ps, gs, ms, vs);
  const stepSize = fround(p.lr / (1 - Math.pow(p.beta1, p.step)));
  const sqrtBc2 = fround(Math.sqrt(1 - Math.pow(p.beta2, p.step)));
  const [b1, b2, eps, wd] = [p.beta1, p.beta2, p.eps, p.weightDecay].map(fround);
  for (let i = 0; i < ps.length; i++) {
    const g = fround(gs[i] + wd * ps[i]);
    ms[i] = b1 * ms[i] + (1 - b1) * g;
    vs[i] = b2 * vs[i] + (1 - b2) * g * g;
    ps[i] = ps[i] - stepSize * ms[i] / (Math.sqrt(vs[i]) / sqrtBc2 + eps);
  }
}
