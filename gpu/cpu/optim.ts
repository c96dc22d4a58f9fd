/**
 * CPU twins of gpu/shaders/optim.wgsl: PyTorch's SGD and Adam update rules, in place, over a
 * group of parameters whose state lies end to end in one buffer from `base` (nn/optim/).
 * Scalars are rounded to f32 first so both backends see the same hyper-parameters. Given a loss
 * scaling, an update is skipped after an overflow and otherwise sees its gradients unscaled.
 */

import type { AdamParams, HostStorage, SgdParams } from "../types.ts";
import { checkGroup } from "../optim-checks.ts";
import { unscaleFactor } from "./loss-scale.ts";
import { f32 } from "./storage.ts";

/** A LossScaling (gpu/types.ts) on storage the host reads. */
export type HostScaling = { readonly scale: HostStorage; readonly state: HostStorage };

const fround = Math.fround;

/** Calls `each` with every parameter, its gradient and where its state starts. */
function forEachMember(
  params: readonly HostStorage[],
  grads: readonly HostStorage[],
  base: number,
  each: (p: Float32Array, g: Float32Array, at: number) => void,
): void {
  let at = base;
  params.forEach((param, k) => {
    each(f32(param), f32(grads[k]), at);
    at += param.length;
  });
}

export function sgdStepGroup(
  params: readonly HostStorage[],
  grads: readonly HostStorage[],
  momentumBuf: HostStorage,
  base: number,
  p: SgdParams,
  scaling?: HostScaling,
): void {
  const useMomentum = p.momentum !== 0;
  checkGroup("sgdStepGroup", params, grads, base, useMomentum ? [momentumBuf] : []);
  const unscale = scaling ? unscaleFactor(scaling) : 1;
  if (unscale === null) return;
  const buf = useMomentum ? f32(momentumBuf) : new Float32Array(0);
  const [lr, momentum, dampening, wd] = [p.lr, p.momentum, p.dampening, p.weightDecay].map(fround);
  forEachMember(params, grads, base, (ps, gs, at) => {
    for (let i = 0; i < ps.length; i++) {
      let d = fround(fround(gs[i] * unscale) + wd * ps[i]);
      if (useMomentum) {
        const b = p.firstStep ? d : fround(momentum * buf[at + i] + (1 - dampening) * d);
        buf[at + i] = b;
        d = p.nesterov ? fround(d + momentum * b) : b;
      }
      ps[i] = ps[i] - lr * d;
    }
  });
}

export function adamStepGroup(
  params: readonly HostStorage[],
  grads: readonly HostStorage[],
  m: HostStorage,
  v: HostStorage,
  base: number,
  p: AdamParams,
  scaling?: HostScaling,
): void {
  checkGroup("adamStepGroup", params, grads, base, [m, v]);
  const unscale = scaling ? unscaleFactor(scaling) : 1;
  if (unscale === null) return;
  const ms = f32(m);
  const vs = f32(v);
  const stepSize = fround(p.lr / (1 - Math.pow(p.beta1, p.step)));
  const sqrtBc2 = fround(Math.sqrt(1 - Math.pow(p.beta2, p.step)));
  const [b1, b2, eps, wd] = [p.beta1, p.beta2, p.eps, p.weightDecay].map(fround);
  forEachMember(params, grads, base, (ps, gs, at) => {
    for (let i = 0; i < ps.length; i++) {
      const s = at + i;
      const g = fround(fround(gs[i] * unscale) + wd * ps[i]);
      ms[s] = b1 * ms[s] + (1 - b1) * g;
      vs[s] = b2 * vs[s] + (1 - b2) * g * g;
      ps[i] = ps[i] - stepSize * ms[s] / (Math.sqrt(vs[s]) / sqrtBc2 + eps);
    }
  });
}
