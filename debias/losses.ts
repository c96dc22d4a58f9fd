/**
 * The debiasing terms of the study's two-phase step, each built from engine primitives so its
 * gradient comes from theirs.
 */

import { exp, mul, scale } from "../nn/ops/elementwise.ts";
import { crossEntropy } from "../nn/ops/loss.ts";
import { rand } from "../nn/ops/random.ts";
import { mean, sum } from "../nn/ops/reduce.ts";
import { logSoftmax } from "../nn/ops/softmax.ts";
import { full, type Tensor, tensor } from "../nn/tensor.ts";

/**
 * LNTL's pseudo mutual-information term: lambda x mean over the batch of sum_k p log p of the
 * auxiliary softmax (the negative entropy). Minimising it pushes the encoder to make the bias
 * head uncertain. Computed through log-softmax so a saturated head gives no NaN.
 */
export function lntlEntropyLoss(auxLogits: Tensor, lambda: number): Tensor {
  const logP = logSoftmax(auxLogits, -1);
  return scale(mean(sum(mul(exp(logP), logP), -1)), lambda);
}

/** Which targets TABE's confusion loss pulls the bias head's softmax towards. */
export const CONFUSION_TARGETS = ["uniform-random", "uniform-target"] as const;
export type ConfusionTarget = (typeof CONFUSION_TARGETS)[number];

/**
 * TABE's confusion term: -alpha x sum(u log p) / batch. The study's code (the default here) draws
 * u ~ U(0,1) afresh per element each step; Alvi et al.'s paper uses the uniform target 1/K
 * ("uniform-target"), a cross-entropy with the uniform distribution.
 */
export function tabeConfusionLoss(
  auxLogits: Tensor,
  alpha: number,
  target: ConfusionTarget = "uniform-random",
  seed?: number,
): Tensor {
  const [batch, classes] = auxLogits.shape;
  const logP = logSoftmax(auxLogits, -1);
  const u = target === "uniform-random"
    ? rand(auxLogits.shape, seed, { backend: auxLogits.backend })
    : full(auxLogits.shape, 1 / classes, { backend: auxLogits.backend });
  return scale(sum(mul(u, logP)), -alpha / batch);
}

/**
 * Inverse-frequency class weights exactly as the study normalised them: frequencies f_c,
 * weights (1/f_c) / sum(1/f). A class absent from the training labels gets weight 0 (the
 * study's code would have crashed on a shorter weight vector); the count is checked.
 */
export function inverseFrequencyWeights(labels: Int32Array, classes: number): Float32Array {
  const counts = new Float64Array(classes);
  for (const y of labels) {
    if (y < 0 || y >= classes || !Number.isInteger(y)) {
      throw new Error(`bias label ${y} is outside 0..${classes - 1}; check --num-aux`);
    }
    counts[y]++;
  }
  const inverse = Array.from(counts, (c) => (c > 0 ? labels.length / c : 0));
  const total = inverse.reduce((a, b) => a + b, 0);
  return Float32Array.from(inverse, (w) => w / total);
}

/**
 * Cross-entropy of a bias head, weighted per class (the study: inverse frequency of its column;
 * pass a kept device tensor to avoid an upload per step) or unweighted when `weights` is null
 * (LNTL's Colored MNIST code).
 */
export function auxiliaryLoss(
  auxLogits: Tensor,
  labels: Tensor,
  weights: Tensor | Float32Array | null,
): Tensor {
  if (weights === null) return crossEntropy(auxLogits, labels);
  const weight = weights instanceof Float32Array
    ? tensor(weights, [weights.length], { backend: auxLogits.backend })
    : weights;
  return crossEntropy(auxLogits, labels, { weight });
}
