/**
 * Losses with PyTorch's semantics. The per-element / per-row losses are kernels; reductions,
 * positive-class weighting and the weighted mean are composed from primitives.
 */

import { record } from "../autograd.ts";
import { full, Tensor } from "../tensor.ts";
import { add, addScalar, div, mul, neg, sigmoid, sub } from "./elementwise.ts";
import { broadcastShapes } from "./broadcast.ts";
import { mean, sum } from "./reduce.ts";

export type Reduction = "mean" | "sum" | "none";

function checkReduction(reduction: Reduction): void {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new Error(`unknown reduction "${reduction}" (expected mean, sum or none)`);
  }
}

/** Per-element max(x,0) - x*t + log(1 + exp(-|x|)); d/dx = sigmoid(x) - t, d/dt = -x. */
function bceElements(logits: Tensor, targets: Tensor): Tensor {
  const backend = logits.backend;
  const y = Tensor.fromStorage(
    backend,
    backend.bceWithLogits(logits.storage, targets.storage),
    logits.shape,
  );
  return record(y, [logits, targets], "bceWithLogits", (g) => [
    logits.requiresGrad ? mul(g, sub(sigmoid(logits), targets)) : null,
    targets.requiresGrad ? neg(mul(g, logits)) : null,
  ]);
}

export interface BceOptions {
  reduction?: Reduction;
  /** Weight of positive targets, broadcast against the logits (PyTorch's pos_weight). */
  posWeight?: Tensor;
}

/**
 * Binary cross-entropy on logits (targets may be soft, in [0, 1]). With posWeight p the loss is
 * (1 - t) x + (1 + (p - 1) t) softplus(-x): the plain loss plus (p - 1) t softplus(-x), where
 * softplus(-x) is the plain loss at target 1, so one kernel serves both terms.
 */
export function bceWithLogits(
  logits: Tensor,
  targets: Tensor,
  { reduction = "mean", posWeight }: BceOptions = {},
): Tensor {
  checkReduction(reduction);
  if (logits.dtype !== "f32" || targets.dtype !== "f32") {
    throw new Error(
      `bceWithLogits needs f32 logits and targets, got ${logits.dtype} and ${targets.dtype}`,
    );
  }
  if (logits.shape.join() !== targets.shape.join()) {
    throw new Error(
      `bceWithLogits: targets of shape [${targets.shape}] for logits of shape [${logits.shape}]`,
    );
  }
  if (logits.backend !== targets.backend) {
    throw new Error("bceWithLogits: logits and targets live on different backends");
  }
  let loss = bceElements(logits, targets);
  if (posWeight) {
    const joint = broadcastShapes(posWeight.shape, logits.shape);
    if (joint.join() !== logits.shape.join()) {
      throw new Error(
        `bceWithLogits: posWeight of shape [${posWeight.shape}] does not broadcast to the ` +
          `logits' shape [${logits.shape}]`,
      );
    }
    const ones = full(logits.shape, 1, { backend: logits.backend });
    loss = add(loss, mul(mul(addScalar(posWeight, -1), targets), bceElements(logits, ones)));
  }
  if (reduction === "none") return loss;
  return reduction === "sum" ? sum(loss) : mean(loss);
}

export interface CrossEntropyOptions {
  /** Per-class weights [C] (e.g. inverse class frequency). */
  weight?: Tensor;
  /** Rows with this label add neither loss nor weight (PyTorch's default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/**
 * Cross-entropy of logits [N, C] against i32 class labels [N]. The mean is PyTorch's weighted
 * mean, sum_i w[y_i] loss_i / sum_i w[y_i] over rows not ignored; "none" gives w[y_i] loss_i
 * per row (0 for ignored rows). A label outside [0, C) is an error on the CPU backend and NaN
 * on the GPU, which cannot raise one.
 */
export function crossEntropy(
  logits: Tensor,
  labels: Tensor,
  { weight, ignoreIndex = -100, reduction = "mean" }: CrossEntropyOptions = {},
): Tensor {
  checkReduction(reduction);
  if (logits.rank !== 2 || logits.dtype !== "f32") {
    throw new Error(`crossEntropy needs f32 logits [N, C], got ${logits.dtype} [${logits.shape}]`);
  }
  const [rows, cols] = logits.shape;
  if (labels.dtype !== "i32" || labels.rank !== 1 || labels.shape[0] !== rows) {
    throw new Error(
      `crossEntropy needs i32 labels [${rows}], got ${labels.dtype} [${labels.shape}]`,
    );
  }
  if (weight && (weight.dtype !== "f32" || weight.rank !== 1 || weight.shape[0] !== cols)) {
    throw new Error(
      `crossEntropy: class weights must be f32 [${cols}], got ${weight.dtype} [${weight.shape}]`,
    );
  }
  for (const t of [labels, weight]) {
    if (t && t.backend !== logits.backend) {
      throw new Error("crossEntropy: logits, labels and weights live on different backends");
    }
  }
  const backend = logits.backend;
  const w = weight?.storage ?? null;
  const r = backend.crossEntropy(logits.storage, labels.storage, w, rows, cols, ignoreIndex);
  const rowLoss = Tensor.fromStorage(backend, r.loss, [rows]);
  const rowWeight = Tensor.fromStorage(backend, r.weight, [rows]);
  record(rowLoss, [logits], "crossEntropy", (g) => [
    Tensor.fromStorage(
      backend,
      backend.crossEntropyBackward(
        logits.storage,
        labels.storage,
        w,
        g.storage,
        rows,
        cols,
        ignoreIndex,
      ),
      logits.shape,
    ),
  ]);
  if (reduction === "mean") return div(sum(rowLoss), sum(rowWeight));
  rowWeight.dispose();
  return reduction === "sum" ? sum(rowLoss) : rowLoss;
}

/** f32 one-hot rows of i32 labels: [...labels.shape, classes]. Not differentiable. */
export function oneHot(labels: Tensor, classes: number): Tensor {
  if (labels.dtype !== "i32") throw new Error(`oneHot needs i32 labels, got ${labels.dtype}`);
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`oneHot needs a positive class count, got ${classes}`);
  }
  const backend = labels.backend;
  return Tensor.fromStorage(
    backend,
    backend.oneHot(labels.storage, classes),
    [...labels.shape, classes],
  );
}
