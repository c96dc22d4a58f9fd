/**
 * The uncertainty every comparison in the tables carries, so that a difference between methods
 * is read against its noise rather than against one lucky seed:
 *  - {@link meanSd} and {@link tInterval}: mean ± sd over seeds or folds, and a t-interval;
 *  - {@link pairedDifference}: the per-seed (or per-fold) paired difference of a method to the
 *    baseline, with its 95 % t-interval and paired t-test, since both share each seed's data;
 *  - {@link delongTest}: DeLong, DeLong and Clarke-Pearson's (1988) test of two correlated AUCs
 *    scored on the same test set (one run's comparison), from the placement values;
 *  - {@link pairedBootstrap}: the same comparison by a stratified paired bootstrap.
 * Checked against an independent Python implementation (tools/fixtures/delong.py).
 */

import { Rng } from "../data/rng.ts";
import {
  incompleteBeta,
  normalQuantile,
  normalUpperTail,
  studentTQuantile,
  studentTTwoSided,
} from "./distributions.ts";

/** Mean and (sample) standard deviation; sd is 0 for one value, NaN mean for none. */
export function meanSd(values: readonly number[]): { mean: number; sd: number; n: number } {
  const n = values.length;
  const mean = n ? values.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** A mean with its two-sided confidence interval. */
export interface Interval {
  mean: number;
  sd: number;
  n: number;
  /** Bounds of the interval (NaN with fewer than two values). */
  low: number;
  high: number;
  level: number;
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) {
    throw new Error(`confidence level must be in (0, 1), got ${level}`);
  }
}

function checkFinite(values: readonly number[], what: string): void {
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`${what}: value ${i} is ${v}`);
  });
}

/** Mean ± t_{(1+level)/2, n-1} · sd / √n. */
export function tInterval(values: readonly number[], level = 0.95): Interval {
  checkLevel(level);
  checkFinite(values, "tInterval");
  const { mean, sd, n } = meanSd(values);
  if (n < 2) return { mean, sd, n, low: NaN, high: NaN, level };
  const half = studentTQuantile((1 + level) / 2, n - 1) * sd / Math.sqrt(n);
  return { mean, sd, n, low: mean - half, high: mean + half, level };
}

/** A paired comparison: the interval of the mean difference, and the paired t-test. */
export interface PairedDifference extends Interval {
  /** t statistic of the mean difference (NaN with < 2 pairs; ±Infinity when sd is 0). */
  t: number;
  /** Two-sided p-value of the paired t-test. */
  p: number;
}

/**
 * The differences `method[i] - baseline[i]` (pairs share a seed or fold), their mean, sd and
 * t-interval, and the paired t-test against a zero difference.
 */
export function pairedDifference(
  method: readonly number[],
  baseline: readonly number[],
  level = 0.95,
): PairedDifference {
  if (method.length !== baseline.length) {
    throw new Error(
      `pairedDifference: ${method.length} method values for ${baseline.length} baseline values`,
    );
  }
  const d = method.map((v, i) => v - baseline[i]);
  const iv = tInterval(d, level);
  if (iv.n < 2) return { ...iv, t: NaN, p: NaN };
  if (iv.sd === 0) {
    return {
      ...iv,
      t: iv.mean === 0 ? 0 : Infinity * Math.sign(iv.mean),
      p: iv.mean === 0 ? 1 : 0,
    };
  }
  const t = iv.mean / (iv.sd / Math.sqrt(iv.n));
  return { ...iv, t, p: studentTTwoSided(t, iv.n - 1) };
}

/** Positives' and negatives' scores of one classifier, checked. */
function split(scores: ArrayLike<number>, targets: ArrayLike<number>, what: string) {
  if (scores.length !== targets.length) {
    throw new Error(`${what}: ${scores.length} scores for ${targets.length} targets`);
  }
  const pos: number[] = [], neg: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`${what}: score ${i} is ${scores[i]}`);
    if (targets[i] === 1) pos.push(scores[i]);
    else if (targets[i] === 0) neg.push(scores[i]);
    else throw new Error(`${what}: target ${i} is ${targets[i]}, not 0/1`);
  }
  if (pos.length < 2 || neg.length < 2) {
    throw new Error(
      `${what}: needs at least two positives and two negatives, got ${pos.length} and ${neg.length}`,
    );
  }
  return { pos, neg };
}

/** How many of the sorted values are below x, and how many equal it (binary searches). */
function below(sorted: readonly number[], x: number): { less: number; equal: number } {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  hi = sorted.length;
  while (end < hi) {
    const mid = (end + hi) >> 1;
    if (sorted[mid] <= x) end = mid + 1;
    else hi = mid;
  }
  return { less: lo, equal: end - lo };
}

/**
 * DeLong's placement values: for each positive the share of negatives it outscores (ties half),
 * for each negative the share of positives that outscore it. Their means are the AUC.
 */
function placements(pos: readonly number[], neg: readonly number[]) {
  const sortedNeg = [...neg].sort((a, b) => a - b);
  const sortedPos = [...pos].sort((a, b) => a - b);
  const v10 = pos.map((x) => {
    const { less, equal } = below(sortedNeg, x);
    return (less + equal / 2) / neg.length;
  });
  const v01 = neg.map((y) => {
    const { less, equal } = below(sortedPos, y);
    return (pos.length - less - equal + equal / 2) / pos.length;
  });
  return { v10, v01 };
}

function covariance(a: readonly number[], b: readonly number[]): number {
  const ma = meanSd(a).mean, mb = meanSd(b).mean;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - ma) * (b[i] - mb);
  return s / (a.length - 1);
}

/** One AUC with DeLong's variance. */
export interface DelongAuc {
  auc: number;
  variance: number;
  low: number;
  high: number;
}

/** An AUC, its DeLong variance and normal-theory interval (clipped to [0, 1]). */
export function delongAuc(
  scores: ArrayLike<number>,
  targets: ArrayLike<number>,
  level = 0.95,
): DelongAuc {
  checkLevel(level);
  const { pos, neg } = split(scores, targets, "delongAuc");
  const { v10, v01 } = placements(pos, neg);
  const auc = meanSd(v10).mean;
  const variance = covariance(v10, v10) / pos.length + covariance(v01, v01) / neg.length;
  const half = normalQuantile((1 + level) / 2) * Math.sqrt(variance);
  return { auc, variance, low: Math.max(0, auc - half), high: Math.min(1, auc + half) };
}

/** DeLong's test of AUC(a) - AUC(b) on one test set. */
export interface DelongComparison {
  aucA: number;
  aucB: number;
  /** aucA - aucB. */
  difference: number;
  /** The 2x2 covariance of (aucA, aucB): [var A, cov, cov, var B]. */
  covariance: [number, number, number, number];
  /** Standard error of the difference. */
  se: number;
  z: number;
  /** Two-sided p-value (1 when both classifiers rank the lesions identically). */
  p: number;
  low: number;
  high: number;
  level: number;
}

/**
 * DeLong's test for two correlated ROC AUCs: both classifiers score the same lesions, so the
 * variance of the difference subtracts their covariance, estimated from the placement values.
 */
export function delongTest(
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  targets: ArrayLike<number>,
  level = 0.95,
): DelongComparison {
  checkLevel(level);
  const a = split(scoresA, targets, "delongTest (first scores)");
  const b = split(scoresB, targets, "delongTest (second scores)");
  const pa = placements(a.pos, a.neg), pb = placements(b.pos, b.neg);
  const m = a.pos.length, n = a.neg.length;
  const cov = (x: keyof typeof pa, y: keyof typeof pa) => covariance(pa[x], pb[y]);
  const vAA = covariance(pa.v10, pa.v10) / m + covariance(pa.v01, pa.v01) / n;
  const vBB = covariance(pb.v10, pb.v10) / m + covariance(pb.v01, pb.v01) / n;
  const vAB = cov("v10", "v10") / m + cov("v01", "v01") / n;
  const aucA = meanSd(pa.v10).mean, aucB = meanSd(pb.v10).mean;
  const difference = aucA - aucB;
  const se = Math.sqrt(Math.max(0, vAA + vBB - 2 * vAB));
  const z = se > 0 ? difference / se : 0;
  const p = se > 0 ? 2 * normalUpperTail(z) : (difference === 0 ? 1 : 0);
  const half = normalQuantile((1 + level) / 2) * se;
  return {
    aucA,
    aucB,
    difference,
    covariance: [vAA, vAB, vAB, vBB],
    se,
    z,
    p,
    low: difference - half,
    high: difference + half,
    level,
  };
}

/** A paired bootstrap of AUC(a) - AUC(b). */
export interface BootstrapComparison {
  difference: number;
  /** Standard deviation of the bootstrap differences. */
  se: number;
  /** Percentile interval. */
  low: number;
  high: number;
  /** Two-sided: twice the smaller share of resampled differences on either side of 0. */
  p: number;
  resamples: number;
  level: number;
}

/** Weighted AUC of one classifier: `order` sorts its scores ascending, `w` counts each lesion. */
function weightedAuc(
  scores: ArrayLike<number>,
  isPos: Uint8Array,
  order: Int32Array,
  w: Int32Array,
): number {
  let negSoFar = 0, sum = 0, totalPos = 0;
  for (let k = 0; k < order.length;) {
    const s = scores[order[k]];
    let groupPos = 0, groupNeg = 0, j = k;
    for (; j < order.length && scores[order[j]] === s; j++) {
      const i = order[j];
      if (isPos[i]) groupPos += w[i];
      else groupNeg += w[i];
    }
    sum += groupPos * (negSoFar + groupNeg / 2);
    negSoFar += groupNeg;
    totalPos += groupPos;
    k = j;
  }
  return sum / (totalPos * negSoFar);
}

/**
 * The paired bootstrap of an AUC difference (as pROC's): each resample draws positives and
 * negatives with replacement, separately so both classes keep their counts, and scores both
 * classifiers on the SAME draw. Deterministic for a seed.
 */
export function pairedBootstrap(
  scoresA: ArrayLike<number>,
  scoresB: ArrayLike<number>,
  targets: ArrayLike<number>,
  { resamples = 2000, seed = 0, level = 0.95 }: {
    resamples?: number;
    seed?: number;
    level?: number;
  } = {},
): BootstrapComparison {
  checkLevel(level);
  if (!(Number.isInteger(resamples) && resamples >= 10)) {
    throw new Error(`pairedBootstrap: resamples must be an integer >= 10, got ${resamples}`);
  }
  split(scoresA, targets, "pairedBootstrap (first scores)");
  split(scoresB, targets, "pairedBootstrap (second scores)");
  const n = targets.length;
  const isPos = Uint8Array.from({ length: n }, (_, i) => (targets[i] === 1 ? 1 : 0));
  const posIdx: number[] = [], negIdx: number[] = [];
  for (let i = 0; i < n; i++) (isPos[i] ? posIdx : negIdx).push(i);
  const sortBy = (s: ArrayLike<number>) =>
    Int32Array.from({ length: n }, (_, i) => i).sort((x, y) => s[x] - s[y]);
  const orderA = sortBy(scoresA), orderB = sortBy(scoresB);
  const ones = new Int32Array(n).fill(1);
  const difference = weightedAuc(scoresA, isPos, orderA, ones) -
    weightedAuc(scoresB, isPos, orderB, ones);
  const rng = new Rng(seed);
  const w = new Int32Array(n);
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    w.fill(0);
    for (const group of [posIdx, negIdx]) {
      for (let k = 0; k < group.length; k++) w[group[rng.int(group.length)]]++;
    }
    diffs[r] = weightedAuc(scoresA, isPos, orderA, w) - weightedAuc(scoresB, isPos, orderB, w);
  }
  const sorted = Float64Array.from(diffs).sort();
  const at = (q: number) => {
    const x = q * (resamples - 1), lo = Math.floor(x), f = x - lo;
    return sorted[lo] + (sorted[Math.min(resamples - 1, lo + 1)] - sorted[lo]) * f;
  };
  let above = 0, under = 0;
  for (const d of diffs) {
    if (d > 0) above++;
    else if (d < 0) under++;
  }
  const ties = resamples - above - under;
  const p = Math.min(1, (2 * (Math.min(above, under) + ties / 2)) / resamples);
  return {
    difference,
    se: meanSd(Array.from(diffs)).sd,
    low: at((1 - level) / 2),
    high: at((1 + level) / 2),
    p,
    resamples,
    level,
  };
}

/** McNemar's comparison of two classifiers' accuracies on the same test items. */
export interface McNemarComparison {
  accuracyA: number;
  accuracyB: number;
  /** accuracyA - accuracyB. */
  difference: number;
  /** Items only A got right, items only B got right. */
  onlyA: number;
  onlyB: number;
  /** Exact two-sided binomial p-value on the discordant items. */
  p: number;
  /** Wald interval of the paired difference of proportions. */
  low: number;
  high: number;
  level: number;
}

/**
 * McNemar's exact test: whether A and B differ in accuracy on the same items, from the items
 * exactly one of them got right (the paired analogue of DeLong's test for accuracies).
 */
export function mcnemarTest(
  correctA: ArrayLike<boolean | number>,
  correctB: ArrayLike<boolean | number>,
  level = 0.95,
): McNemarComparison {
  checkLevel(level);
  const n = correctA.length;
  if (correctB.length !== n || n === 0) {
    throw new Error(
      `mcnemarTest: needs two equal, non-empty lists, got ${n} and ${correctB.length}`,
    );
  }
  let rightA = 0, rightB = 0, onlyA = 0, onlyB = 0;
  for (let i = 0; i < n; i++) {
    const a = Boolean(correctA[i]), b = Boolean(correctB[i]);
    if (a) rightA++;
    if (b) rightB++;
    if (a && !b) onlyA++;
    if (b && !a) onlyB++;
  }
  const discordant = onlyA + onlyB;
  const k = Math.min(onlyA, onlyB);
  // P(X <= k) for X ~ Binomial(discordant, 1/2) is I_{1/2}(discordant - k, k + 1).
  const p = discordant === 0 || 2 * k === discordant
    ? 1
    : Math.min(1, 2 * incompleteBeta(0.5, discordant - k, k + 1));
  const difference = (onlyA - onlyB) / n;
  const se = Math.sqrt(Math.max(0, discordant - (onlyA - onlyB) ** 2 / n)) / n;
  const half = normalQuantile((1 + level) / 2) * se;
  return {
    accuracyA: rightA / n,
    accuracyB: rightB / n,
    difference,
    onlyA,
    onlyB,
    p,
    low: difference - half,
    high: difference + half,
    level,
  };
}
