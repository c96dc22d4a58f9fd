/**
 * Batch norm over [n, c, spatial]: statistics and backward sums run per channel (one work item
 * each) with vector partial sums per plane folded into f64, as exact as the f64 reference in
 * practice; the apply pass is a per-plane scale and shift.
 */

import {
  BN_BATCH_STATS,
  BN_BETA,
  BN_C,
  BN_EPS,
  BN_GAMMA,
  BN_GBETA,
  BN_GGAMMA,
  BN_GY,
  BN_MEAN,
  BN_N,
  BN_OUT,
  BN_S,
  BN_VAR,
  BN_X,
  COUNTER,
} from "./slots";
import { claim, grain, imin, nextGroup, pf, pi } from "./common";

function hsum(v: v128): f64 {
  return <f64> f32x4.extract_lane(v, 0) + <f64> f32x4.extract_lane(v, 1) +
    <f64> f32x4.extract_lane(v, 2) + <f64> f32x4.extract_lane(v, 3);
}

/** Sum of a plane of `len` floats. */
function planeSum(src: usize, len: i32): f64 {
  let v = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= len; j += 4) v = f32x4.add(v, v128.load(src + (<usize> j << 2)));
  let s = hsum(v);
  for (; j < len; j++) s += load<f32>(src + (<usize> j << 2));
  return s;
}

/** Sum of (x - m)^2 over a plane. */
function planeSquares(src: usize, len: i32, m: f32): f64 {
  const mv = f32x4.splat(m);
  let v = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const d = f32x4.sub(v128.load(src + (<usize> j << 2)), mv);
    v = f32x4.relaxed_madd(d, d, v);
  }
  let s = hsum(v);
  for (; j < len; j++) {
    const d = <f64> load<f32>(src + (<usize> j << 2)) - <f64> m;
    s += d * d;
  }
  return s;
}

function plane(base: usize, n: i32, c: i32, spatial: i32, ch: i32): usize {
  return base + ((<usize> (n * c + ch) * <usize> spatial) << 2);
}

/** Per-channel mean and biased variance (two passes). */
export function bn_stats_task(p: usize, _tid: i32, _nt: i32): void {
  const n = pi(p, BN_N);
  const c = pi(p, BN_C);
  const spatial = pi(p, BN_S);
  const x = <usize> pi(p, BN_X);
  const count = <f64> n * <f64> spatial;
  for (;;) {
    const ch = claim(p, COUNTER);
    if (ch >= c) break;
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += planeSum(plane(x, i, c, spatial, ch), spatial);
    const mean = <f32> (sum / count);
    let sq: f64 = 0;
    for (let i = 0; i < n; i++) sq += planeSquares(plane(x, i, c, spatial, ch), spatial, mean);
    store<f32>(<usize> pi(p, BN_MEAN) + (<usize> ch << 2), mean);
    store<f32>(<usize> pi(p, BN_VAR) + (<usize> ch << 2), <f32> (sq / count));
  }
}

/** y = (x - mean) * gamma / sqrt(var + eps) + beta, plane by plane. */
export function bn_apply_task(p: usize, tid: i32, nt: i32): void {
  const n = pi(p, BN_N);
  const c = pi(p, BN_C);
  const spatial = pi(p, BN_S);
  const x = <usize> pi(p, BN_X);
  const y = <usize> pi(p, BN_OUT);
  const eps = <f64> pf(p, BN_EPS);
  const planes = n * c;
  const per = grain(planes, spatial, nt);
  for (let g = nextGroup(p, per); g < planes; g = nextGroup(p, per)) {
    const end = imin(planes, g + per);
    for (let pl = g; pl < end; pl++) {
      const ch = pl % c;
      const o = <usize> ch << 2;
      const invStd = 1 / Math.sqrt(<f64> load<f32>(<usize> pi(p, BN_VAR) + o) + eps);
      const k = <f32> (invStd * <f64> load<f32>(<usize> pi(p, BN_GAMMA) + o));
      const m = load<f32>(<usize> pi(p, BN_MEAN) + o);
      const b = load<f32>(<usize> pi(p, BN_BETA) + o);
      const src = x + ((<usize> pl * <usize> spatial) << 2);
      const dst = y + ((<usize> pl * <usize> spatial) << 2);
      const kv = f32x4.splat(k);
      const mv = f32x4.splat(m);
      const bv = f32x4.splat(b);
      let j = 0;
      for (; j + 4 <= spatial; j += 4) {
        const off = <usize> j << 2;
        v128.store(dst + off, f32x4.relaxed_madd(f32x4.sub(v128.load(src + off), mv), kv, bv));
      }
      for (; j < spatial; j++) {
        const off = <usize> j << 2;
        store<f32>(dst + off, (load<f32>(src + off) - m) * k + b);
      }
    }
  }
}

/** Gradients of the apply pass; with batch statistics mean and variance depend on x too. */
export function bn_backward_task(p: usize, _tid: i32, _nt: i32): void {
  const n = pi(p, BN_N);
  const c = pi(p, BN_C);
  const spatial = pi(p, BN_S);
  const x = <usize> pi(p, BN_X);
  const gy = <usize> pi(p, BN_GY);
  const gx = <usize> pi(p, BN_OUT);
  const eps = <f64> pf(p, BN_EPS);
  const batchStats = pi(p, BN_BATCH_STATS) != 0;
  const count = <f64> n * <f64> spatial;
  for (;;) {
    const ch = claim(p, COUNTER);
    if (ch >= c) break;
    const o = <usize> ch << 2;
    const m = load<f32>(<usize> pi(p, BN_MEAN) + o);
    const invStd = 1 / Math.sqrt(<f64> load<f32>(<usize> pi(p, BN_VAR) + o) + eps);
    const mv = f32x4.splat(m);
    let sumGy: f64 = 0;
    let sumGyXc: f64 = 0;
    for (let i = 0; i < n; i++) {
      const xs = plane(x, i, c, spatial, ch);
      const gs = plane(gy, i, c, spatial, ch);
      let vg = f32x4.splat(0);
      let vgx = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= spatial; j += 4) {
        const off = <usize> j << 2;
        const g = v128.load(gs + off);
        vg = f32x4.add(vg, g);
        vgx = f32x4.relaxed_madd(g, f32x4.sub(v128.load(xs + off), mv), vgx);
      }
      sumGy += hsum(vg);
      sumGyXc += hsum(vgx);
      for (; j < spatial; j++) {
        const off = <usize> j << 2;
        const g = <f64> load<f32>(gs + off);
        sumGy += g;
        sumGyXc += g * (<f64> load<f32>(xs + off) - <f64> m);
      }
    }
    const sumGyXhat = sumGyXc * invStd;
    store<f32>(<usize> pi(p, BN_GGAMMA) + o, <f32> sumGyXhat);
    store<f32>(<usize> pi(p, BN_GBETA) + o, <f32> sumGy);
    const k = <f64> load<f32>(<usize> pi(p, BN_GAMMA) + o) * invStd;
    // gx = k * (gy - mean(gy) - xhat * mean(gy * xhat)) = a * gy + b * (x - m) + shift
    const a = <f32> k;
    const b = batchStats ? <f32> (-k * invStd * (sumGyXhat / count)) : <f32> 0;
    const shift = batchStats ? <f32> (-k * (sumGy / count)) : <f32> 0;
    const av = f32x4.splat(a);
    const bv = f32x4.splat(b);
    const sv = f32x4.splat(shift);
    for (let i = 0; i < n; i++) {
      const xs = plane(x, i, c, spatial, ch);
      const gs = plane(gy, i, c, spatial, ch);
      const ds = plane(gx, i, c, spatial, ch);
      let j = 0;
      for (; j + 4 <= spatial; j += 4) {
        const off = <usize> j << 2;
        const xc = f32x4.sub(v128.load(xs + off), mv);
        const v = f32x4.relaxed_madd(av, v128.load(gs + off), f32x4.relaxed_madd(bv, xc, sv));
        v128.store(ds + off, v);
      }
      for (; j < spatial; j++) {
        const off = <usize> j << 2;
        store<f32>(ds + off, a * load<f32>(gs + off) + b * (load<f32>(xs + off) - m) + shift);
      }
    }
  }
}
