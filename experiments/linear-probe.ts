/**
 * A linear probe: how much of a label a frozen representation still carries. Multinomial
 * logistic regression fitted on the host in float64 (the features are small: one vector per
 * image), on one half of the samples and scored on the other, so it measures linearly decodable
 * information rather than memorisation. Deterministic for a given seed.
 */

import { hashSeed, Rng } from "../data/rng.ts";

export interface ProbeOptions {
  seed?: number;
  /** Full-batch gradient steps (default 400). */
  iterations?: number;
  /** Step size of the Adam updates (default 0.05). */
  lr?: number;
  /** L2 penalty on the weights (default 1e-4). */
  l2?: number;
}

export interface ProbeResult {
  /** Accuracy on the held-out half. */
  accuracy: number;
  /** Accuracy on the half it was fitted on. */
  trainAccuracy: number;
  /** Share of the held-out half in its most frequent class: what a constant guess scores. */
  majority: number;
  fitted: number;
  scored: number;
}

function checkInputs(features: Float32Array, dim: number, labels: Int32Array, classes: number) {
  const n = labels.length;
  if (!Number.isInteger(dim) || dim < 1 || features.length !== n * dim) {
    throw new Error(`probe: ${features.length} feature values for ${n} samples of ${dim}`);
  }
  if (n < 4) throw new Error(`probe: needs at least 4 samples, got ${n}`);
  for (let i = 0; i < n; i++) {
    if (!(labels[i] >= 0 && labels[i] < classes)) {
      throw new Error(`probe: label ${labels[i]} of sample ${i} outside 0..${classes - 1}`);
    }
  }
}

/** Standardises columns with the fitting half's mean and standard deviation. */
function standardise(x: Float64Array, n: number, dim: number, fitRows: Int32Array): void {
  for (let d = 0; d < dim; d++) {
    let m = 0;
    for (const i of fitRows) m += x[i * dim + d];
    m /= fitRows.length;
    let v = 0;
    for (const i of fitRows) v += (x[i * dim + d] - m) ** 2;
    const s = Math.sqrt(v / fitRows.length) || 1;
    for (let i = 0; i < n; i++) x[i * dim + d] = (x[i * dim + d] - m) / s;
  }
}

function predict(x: Float64Array, dim: number, w: Float64Array, classes: number, i: number) {
  const z = new Float64Array(classes);
  for (let k = 0; k < classes; k++) {
    let s = w[classes * dim + k];
    for (let d = 0; d < dim; d++) s += x[i * dim + d] * w[k * dim + d];
    z[k] = s;
  }
  return z;
}

function accuracyOn(
  x: Float64Array,
  dim: number,
  w: Float64Array,
  y: Int32Array,
  c: number,
  rows: Int32Array,
) {
  let right = 0;
  for (const i of rows) {
    const z = predict(x, dim, w, c, i);
    let best = 0;
    for (let k = 1; k < c; k++) if (z[k] > z[best]) best = k;
    if (best === y[i]) right++;
  }
  return right / rows.length;
}

/** Fits on a random half of the samples (rows of `features`, `dim` wide), scores the rest. */
export function linearProbe(
  features: Float32Array,
  dim: number,
  labels: Int32Array,
  classes: number,
  o: ProbeOptions = {},
): ProbeResult {
  return linearProbeScores(features, dim, labels, classes, o).result;
}

/** The held-out half's labels and class probabilities beside the result, for a probe's AUC. */
export interface ProbeScores {
  result: ProbeResult;
  heldLabels: Int32Array;
  /** Softmax probabilities, `classes` per held-out sample. */
  heldProbabilities: Float64Array;
}

/** {@link linearProbe} that also returns what the fitted probe predicts for the held-out half. */
export function linearProbeScores(
  features: Float32Array,
  dim: number,
  labels: Int32Array,
  classes: number,
  o: ProbeOptions = {},
): ProbeScores {
  checkInputs(features, dim, labels, classes);
  const n = labels.length;
  const order = new Rng(hashSeed(o.seed ?? 0, "linear-probe")).permutation(n);
  const half = Math.floor(n / 2);
  const fit = order.slice(0, half);
  const held = order.slice(half);
  const x = Float64Array.from(features);
  standardise(x, n, dim, fit);
  // Weights [classes, dim] then biases [classes], one flat vector for Adam.
  const size = classes * dim + classes;
  const w = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const g = new Float64Array(size);
  const lr = o.lr ?? 0.05;
  const l2 = o.l2 ?? 1e-4;
  const iterations = o.iterations ?? 400;
  for (let t = 1; t <= iterations; t++) {
    g.fill(0);
    for (const i of fit) {
      const z = predict(x, dim, w, classes, i);
      const top = Math.max(...z);
      let s = 0;
      for (let k = 0; k < classes; k++) s += z[k] = Math.exp(z[k] - top);
      for (let k = 0; k < classes; k++) {
        const r = z[k] / s - (k === labels[i] ? 1 : 0);
        for (let d = 0; d < dim; d++) g[k * dim + d] += r * x[i * dim + d];
        g[classes * dim + k] += r;
      }
    }
    for (let j = 0; j < size; j++) {
      const grad = g[j] / fit.length + (j < classes * dim ? l2 * w[j] : 0);
      m[j] = 0.9 * m[j] + 0.1 * grad;
      v[j] = 0.999 * v[j] + 0.001 * grad * grad;
      const mh = m[j] / (1 - 0.9 ** t);
      const vh = v[j] / (1 - 0.999 ** t);
      w[j] -= (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  const counts = new Array<number>(classes).fill(0);
  for (const i of held) counts[labels[i]]++;
  const heldLabels = new Int32Array(held.length);
  const heldProbabilities = new Float64Array(held.length * classes);
  held.forEach((i, r) => {
    heldLabels[r] = labels[i];
    const z = predict(x, dim, w, classes, i);
    const top = Math.max(...z);
    let s = 0;
    for (let k = 0; k < classes; k++) s += z[k] = Math.exp(z[k] - top);
    for (let k = 0; k < classes; k++) heldProbabilities[r * classes + k] = z[k] / s;
  });
  const result = {
    accuracy: accuracyOn(x, dim, w, labels, classes, held),
    trainAccuracy: accuracyOn(x, dim, w, labels, classes, fit),
    majority: Math.max(...counts) / held.length,
    fitted: fit.length,
    scored: held.length,
  };
  return { result, heldLabels, heldProbabilities };
}
