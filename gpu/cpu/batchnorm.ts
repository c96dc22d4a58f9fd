/**
 * CPU twins of gpu/shaders/batchnorm.wgsl. Sums run in float64 (the GPU's workgroup tree keeps
 * f32 partials short), so the twin is the more exact reference of the two.
 */

import type { BatchNormShape, HostStorage } from "../types.ts";
import { checkRunning, runningWeights } from "../batchnorm-running.ts";
import { SILU_GRAD } from "../fused-elementwise.ts";
import { UNARY_OPS } from "../elementwise-ops.ts";
import { fused } from "./elementwise.ts";
import { f32, i32, wrap } from "./storage.ts";

function checkLengths(
  label: string,
  x: HostStorage,
  s: BatchNormShape,
  perChannel: HostStorage[],
): void {
  if (x.length !== s.n * s.c * s.spatial) {
    throw new Error(
      `${label}: input of ${x.length} elements is not [${s.n}, ${s.c}, ${s.spatial}]`,
    );
  }
  for (const p of perChannel) {
    if (p.length !== s.c) {
      throw new Error(`${label}: per-channel tensor of ${p.length} elements for ${s.c} channels`);
    }
  }
}

/** Calls `fn(index)` for every element of channel `ch`. */
function forChannel(s: BatchNormShape, ch: number, fn: (i: number) => void): void {
  for (let n = 0; n < s.n; n++) {
    const base = (n * s.c + ch) * s.spatial;
    for (let k = 0; k < s.spatial; k++) fn(base + k);
  }
}

export function batchNormStats(
  x: HostStorage,
  s: BatchNormShape,
): { mean: HostStorage; variance: HostStorage } {
  checkLengths("batchNormStats", x, s, []);
  const xs = f32(x);
  const count = s.n * s.spatial;
  const mean = new Float32Array(s.c);
  const variance = new Float32Array(s.c);
  for (let ch = 0; ch < s.c; ch++) {
    let acc = 0;
    forChannel(s, ch, (i) => (acc += xs[i]));
    const m = acc / count;
    let sq = 0;
    forChannel(s, ch, (i) => (sq += (xs[i] - m) * (xs[i] - m)));
    mean[ch] = m;
    variance[ch] = sq / count;
  }
  return { mean: wrap(mean), variance: wrap(variance) };
}

/** batchNormStats, then the running statistics moved in place and `count` (if any) plus 1. */
export function batchNormStatsRunning(
  x: HostStorage,
  s: BatchNormShape,
  runningMean: HostStorage,
  runningVar: HostStorage,
  count: HostStorage | null,
  momentum: number,
): { mean: HostStorage; variance: HostStorage } {
  return withRunningUpdate(() => batchNormStats(x, s), s, runningMean, runningVar, count, momentum);
}

/**
 * The host backends' batchNormStatsRunning (this twin's and the WASM backend's): checks the
 * running tensors, computes the batch's statistics with `stats`, then moves the running ones
 * in place on host memory (a loop over the channels) and counts the batch.
 */
export function withRunningUpdate<T extends HostStorage>(
  stats: () => { mean: T; variance: T },
  s: BatchNormShape,
  runningMean: HostStorage,
  runningVar: HostStorage,
  count: HostStorage | null,
  momentum: number,
): { mean: T; variance: T } {
  checkRunning("batchNormStatsRunning", s, runningMean, runningVar, count);
  const batch = stats();
  const [keep, meanWeight, varWeight] = runningWeights(s, momentum).map(Math.fround);
  const [mean, variance, rm, rv] = [batch.mean, batch.variance, runningMean, runningVar].map(f32);
  for (let ch = 0; ch < rm.length; ch++) {
    rm[ch] = keep * rm[ch] + meanWeight * mean[ch];
    rv[ch] = keep * rv[ch] + varWeight * variance[ch];
  }
  if (count) i32(count)[0] += 1;
  return batch;
}

export function batchNormApply(
  x: HostStorage,
  mean: HostStorage,
  variance: HostStorage,
  gamma: HostStorage,
  beta: HostStorage,
  eps: number,
  s: BatchNormShape,
): HostStorage {
  checkLengths("batchNormApply", x, s, [mean, variance, gamma, beta]);
  const [xs, ms, vs, gs, bs] = [x, mean, variance, gamma, beta].map(f32);
  const out = new Float32Array(xs.length);
  for (let ch = 0; ch < s.c; ch++) {
    const invStd = 1 / Math.sqrt(vs[ch] + eps);
    forChannel(s, ch, (i) => (out[i] = (xs[i] - ms[ch]) * invStd * gs[ch] + bs[ch]));
  }
  return wrap(out);
}

/** relu(batchNormApply(x) + residual), the residual optional. */
export function batchNormApplyReLU(
  x: HostStorage,
  mean: HostStorage,
  variance: HostStorage,
  gamma: HostStorage,
  beta: HostStorage,
  residual: HostStorage | null,
  eps: number,
  s: BatchNormShape,
): HostStorage {
  if (residual && residual.length !== x.length) {
    throw new Error(`batchNormApplyReLU: residual of ${residual.length} for ${x.length} elements`);
  }
  const out = f32(batchNormApply(x, mean, variance, gamma, beta, eps, s));
  const rs = residual ? f32(residual) : null;
  for (let i = 0; i < out.length; i++) {
    const v = rs ? out[i] + rs[i] : out[i];
    out[i] = v > 0 ? v : Number.isNaN(v) ? v : 0;
  }
  return wrap(out);
}

export function batchNormBackward(
  x: HostStorage,
  gy: HostStorage,
  mean: HostStorage,
  variance: HostStorage,
  gamma: HostStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: HostStorage; gGamma: HostStorage; gBeta: HostStorage } {
  checkLengths("batchNormBackward", x, s, [mean, variance, gamma]);
  if (gy.length !== x.length) {
    throw new Error(`batchNormBackward: gradient of ${gy.length} elements`);
  }
  const [xs, gys, ms, vs, gs] = [x, gy, mean, variance, gamma].map(f32);
  const count = s.n * s.spatial;
  const gx = new Float32Array(xs.length);
  const gGamma = new Float32Array(s.c);
  const gBeta = new Float32Array(s.c);
  for (let ch = 0; ch < s.c; ch++) {
    const invStd = 1 / Math.sqrt(vs[ch] + eps);
    let sumGy = 0;
    let sumGyXhat = 0;
    forChannel(s, ch, (i) => {
      sumGy += gys[i];
      sumGyXhat += gys[i] * (xs[i] - ms[ch]) * invStd;
    });
    gGamma[ch] = sumGyXhat;
    gBeta[ch] = sumGy;
    const k = gs[ch] * invStd;
    if (batchStats) {
      // d/dx of gamma * xhat with xhat's mean and variance taken over the same batch.
      const meanGy = sumGy / count;
      const meanGyXhat = sumGyXhat / count;
      forChannel(s, ch, (i) => {
        const xhat = (xs[i] - ms[ch]) * invStd;
        gx[i] = k * (gys[i] - meanGy - xhat * meanGyXhat);
      });
    } else {
      forChannel(s, ch, (i) => (gx[i] = k * gys[i]));
    }
  }
  return { gx: wrap(gx), gGamma: wrap(gGamma), gBeta: wrap(gBeta) };
}

/** batchNormBackward of relu(batch norm): gy masked where the ReLU's output y is not > 0. */
export function batchNormReLUBackward(
  x: HostStorage,
  y: HostStorage,
  gy: HostStorage,
  mean: HostStorage,
  variance: HostStorage,
  gamma: HostStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: HostStorage; gGamma: HostStorage; gBeta: HostStorage } {
  if (y.length !== x.length || gy.length !== x.length) {
    throw new Error(
      `batchNormReLUBackward: output ${y.length} and gradient ${gy.length} for ${x.length} elements`,
    );
  }
  const [ys, gs] = [f32(y), f32(gy)];
  // ReLU's backward rule (gpu/elementwise-ops.ts reluGrad): a NaN output passes the gradient
  const masked = gs.map((g, i) => (ys[i] <= 0 ? 0 : g));
  return batchNormBackward(x, wrap(masked), mean, variance, gamma, eps, s, batchStats);
}

/** silu(batchNormApply(x)): EfficientNet's conv-bn-act, the normalised tensor not kept. */
export function batchNormApplySiLU(
  x: HostStorage,
  mean: HostStorage,
  variance: HostStorage,
  gamma: HostStorage,
  beta: HostStorage,
  eps: number,
  s: BatchNormShape,
): HostStorage {
  const z = f32(batchNormApply(x, mean, variance, gamma, beta, eps, s));
  return wrap(z.map((v) => UNARY_OPS.silu.cpu(v)));
}

/**
 * batchNormBackward of silu(batch norm): the normalised tensor z is recomputed from x and the
 * statistics, and gy taken through SiLU's gradient at z (SILU_GRAD) before batch norm's rule.
 */
export function batchNormSiLUBackward(
  x: HostStorage,
  gy: HostStorage,
  mean: HostStorage,
  variance: HostStorage,
  gamma: HostStorage,
  beta: HostStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: HostStorage; gGamma: HostStorage; gBeta: HostStorage } {
  if (gy.length !== x.length) {
    throw new Error(`batchNormSiLUBackward: gradient of ${gy.length} for ${x.length} elements`);
  }
  const z = batchNormApply(x, mean, variance, gamma, beta, eps, s);
  const gz = fused(SILU_GRAD, [gy, z]);
  return batchNormBackward(x, gz, mean, variance, gamma, eps, s, batchStats);
}
