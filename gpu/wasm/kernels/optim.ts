/** In-place SGD (momentum, dampening, Nesterov, weight decay) and Adam updates, PyTorch's rules. */

import {
  OPT_A,
  OPT_B,
  OPT_BC2,
  OPT_EPS,
  OPT_FIRST_STEP,
  OPT_FLAGS,
  OPT_GRAD,
  OPT_LR,
  OPT_M,
  OPT_MOMENTUM,
  OPT_NESTEROV,
  OPT_PARAM,
  OPT_V,
  OPT_WD,
} from "./slots";
import { pf, pi } from "./common";

/** The SGD step over elements [start, end) (the dense task's range). */
export function sgdRange(p: usize, start: i32, end: i32): void {
  const param = <usize> pi(p, OPT_PARAM);
  const grad = <usize> pi(p, OPT_GRAD);
  const buf = <usize> pi(p, OPT_M);
  const lr = pf(p, OPT_LR);
  const momentum = pf(p, OPT_A);
  const keep: f32 = <f32> 1 - pf(p, OPT_B);
  const wd = pf(p, OPT_WD);
  const flags = pi(p, OPT_FLAGS);
  const useMomentum = (flags & OPT_MOMENTUM) != 0;
  const first = (flags & OPT_FIRST_STEP) != 0;
  const nesterov = (flags & OPT_NESTEROV) != 0;
  const lrv = f32x4.splat(lr);
  const mv = f32x4.splat(momentum);
  const kv = f32x4.splat(keep);
  const wv = f32x4.splat(wd);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o = <usize> i << 2;
    const pv = v128.load(param + o);
    let d = f32x4.add(v128.load(grad + o), f32x4.mul(wv, pv));
    if (useMomentum) {
      const b = first ? d : f32x4.add(f32x4.mul(mv, v128.load(buf + o)), f32x4.mul(kv, d));
      v128.store(buf + o, b);
      d = nesterov ? f32x4.add(d, f32x4.mul(mv, b)) : b;
    }
    v128.store(param + o, f32x4.sub(pv, f32x4.mul(lrv, d)));
  }
  for (; i < end; i++) {
    const o = <usize> i << 2;
    const pv = load<f32>(param + o);
    let d = load<f32>(grad + o) + wd * pv;
    if (useMomentum) {
      const b = first ? d : momentum * load<f32>(buf + o) + keep * d;
      store<f32>(buf + o, b);
      d = nesterov ? d + momentum * b : b;
    }
    store<f32>(param + o, pv - lr * d);
  }
}

/** The Adam step over [start, end); OPT_LR holds the bias-corrected step lr / (1 - beta1^t). */
export function adamRange(p: usize, start: i32, end: i32): void {
  const param = <usize> pi(p, OPT_PARAM);
  const grad = <usize> pi(p, OPT_GRAD);
  const mp = <usize> pi(p, OPT_M);
  const vp = <usize> pi(p, OPT_V);
  const step = pf(p, OPT_LR);
  const b1 = pf(p, OPT_A);
  const b2 = pf(p, OPT_B);
  const wd = pf(p, OPT_WD);
  const eps = pf(p, OPT_EPS);
  const bc2 = pf(p, OPT_BC2);
  for (let i = start; i < end; i++) {
    const o = <usize> i << 2;
    const pv = load<f32>(param + o);
    const g = load<f32>(grad + o) + wd * pv;
    const m = b1 * load<f32>(mp + o) + (1 - b1) * g;
    const v = b2 * load<f32>(vp + o) + (1 - b2) * g * g;
    store<f32>(mp + o, m);
    store<f32>(vp + o, v);
    store<f32>(param + o, pv - step * m / (Mathf.sqrt(v) / bc2 + eps));
  }
}
