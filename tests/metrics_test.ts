import { pairedShift, rocAuc, rocCurve, thresholdMetrics } from "../experiments/metrics.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";

Deno.test("ROC AUC counts ties half, as sklearn's roc_auc_score does", () => {
  // Hand count: positives {0.8, 0.4, 0.35}, negatives {0.1, 0.4, 0.7}. Pairs won: 0.8 beats all 3;
  // 0.4 beats 0.1, ties 0.4 (half), loses to 0.7 -> 1.5; 0.35 beats 0.1 -> 1. (3+1.5+1)/9.
  const scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.7];
  const targets = [0, 0, 1, 1, 1, 0];
  assertClose([rocAuc(scores, targets)], [5.5 / 9], "auc with a tie");
  assertClose([rocAuc([0.9, 0.8, 0.1], [1, 1, 0])], [1], "perfect ranking");
  assertClose([rocAuc([0.1, 0.2, 0.9], [1, 1, 0])], [0], "inverted ranking");
  const curve = rocCurve(scores, targets);
  assertEqual(curve.fpr[0], 0, "curve starts at 0");
  assertEqual(curve.tpr[curve.tpr.length - 1], 1, "curve ends at 1");
  assertThrows(() => rocAuc([0.2, 0.3], [1, 1]), /both classes/, "one class only");
  assertThrows(() => rocAuc([NaN, 0.3], [1, 0]), /score 0 is NaN/, "NaN score");
});

Deno.test("threshold metrics at 0.5 match a hand-made confusion matrix", () => {
  // predictions (> 0.5): 1 1 0 0 1 0 ; targets: 1 0 1 0 1 0 -> tp 2, fp 1, fn 1, tn 2
  const m = thresholdMetrics([0.9, 0.6, 0.5, 0.2, 0.51, 0.1], [1, 0, 1, 0, 1, 0]);
  assertClose(
    [m.accuracy, m.sensitivity, m.specificity, m.f1],
    [4 / 6, 2 / 3, 2 / 3, 4 / 6],
    "metrics",
  );
});

Deno.test("paired shift: a common shift has no spread; a varying one is measured against the scores", () => {
  const plain = [0, 1, 2, 3];
  const alike = pairedShift(plain, plain.map((v) => v + 2));
  assertClose([alike.mean, alike.sd, alike.relativeSd], [2, 0, 0], "constant shift");
  // Shifts 1, -1, 1, -1: mean 0, sd sqrt(4/3); plain scores' sd sqrt(5/3).
  const varying = pairedShift(plain, [1, 0, 3, 2]);
  assertClose(
    [varying.mean, varying.sd, varying.relativeSd],
    [0, Math.sqrt(4 / 3), Math.sqrt(4 / 5)],
    "alternating shift",
  );
  assertThrows(() => pairedShift([1, 2], [1]), /one length/, "lengths differ");
});
