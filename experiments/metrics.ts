/**
 * Binary classification metrics of the study: ROC AUC (ties counted half, as sklearn's
 * roc_auc_score), the ROC curve, and accuracy / sensitivity / specificity / F1 at a threshold.
 */

import { meanSd } from "./results-files.ts";

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

function checkInputs(scores: ArrayLike<number>, targets: ArrayLike<number>): void {
  if (scores.length !== targets.length) {
    throw new Error(`${scores.length} scores for ${targets.length} targets`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new Error(`score ${i} is ${scores[i]}`);
    if (targets[i] !== 0 && targets[i] !== 1) {
      throw new Error(`target ${i} is ${targets[i]}, not 0/1`);
    }
  }
}

/** ROC curve over distinct score thresholds, highest first, starting at (0, 0). */
export function rocCurve(scores: ArrayLike<number>, targets: ArrayLike<number>): RocCurve {
  checkInputs(scores, targets);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) =>
    scores[b] - scores[a]
  );
  let positives = 0;
  for (let i = 0; i < targets.length; i++) positives += targets[i];
  const negatives = targets.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(`ROC needs both classes; got ${positives} positives, ${negatives} negatives`);
  }
  const curve: RocCurve = { fpr: [0], tpr: [0], thresholds: [Infinity] };
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (targets[i] === 1) tp++;
    else fp++;
    if (k === order.length - 1 || scores[order[k + 1]] !== scores[i]) {
      curve.fpr.push(fp / negatives);
      curve.tpr.push(tp / positives);
      curve.thresholds.push(scores[i]);
    }
  }
  return curve;
}

/** Area under the ROC curve by the trapezoid rule over distinct thresholds (ties count half). */
export function rocAuc(scores: ArrayLike<number>, targets: ArrayLike<number>): number {
  const { fpr, tpr } = rocCurve(scores, targets);
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
  return area;
}

/** How an artefact moves a model's scores on the same lesions: see {@link pairedShift}. */
export interface PairedShift {
  /** Mean of score(with artefact) - score(plain). */
  mean: number;
  /** Its standard deviation over the lesions. */
  sd: number;
  /** sd divided by the standard deviation of the plain scores. */
  relativeSd: number;
}

/**
 * The per-lesion score change an artefact causes, from two score lists over the same lesions
 * (the paired test sets). A shift common to every lesion leaves the AUC unchanged; a shift that
 * varies from lesion to lesion reorders them, and its spread against the plain scores' spread says
 * how much.
 */
export function pairedShift(plain: ArrayLike<number>, shifted: ArrayLike<number>): PairedShift {
  const n = plain.length;
  if (shifted.length !== n || n < 2) {
    throw new Error(
      `pairedShift needs two score lists of one length >= 2, got ${n} and ${shifted.length}`,
    );
  }
  const d = meanSd(Array.from({ length: n }, (_, i) => shifted[i] - plain[i]));
  const base = meanSd(Array.from(plain));
  return { mean: d.mean, sd: d.sd, relativeSd: base.sd > 0 ? d.sd / base.sd : NaN };
}

export interface ThresholdMetrics {
  accuracy: number;
  sensitivity: number;
  specificity: number;
  f1: number;
}

/** Metrics of predicting positive when score > threshold: np.round(0.5) is 0, as in the study. */
export function thresholdMetrics(
  scores: ArrayLike<number>,
  targets: ArrayLike<number>,
  threshold = 0.5,
): ThresholdMetrics {
  checkInputs(scores, targets);
  let tp = 0, tn = 0, fp = 0, fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const positive = scores[i] > threshold;
    if (positive && targets[i] === 1) tp++;
    else if (positive) fp++;
    else if (targets[i] === 1) fn++;
    else tn++;
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  return {
    accuracy: ratio(tp + tn, scores.length),
    sensitivity: ratio(tp, tp + fn),
    specificity: ratio(tn, tn + fp),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
  };
}
