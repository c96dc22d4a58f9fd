/**
 * The heads of a debiasing network: the main classifier, and bias heads that read the encoder's
 * features (a vector for the study's trunks, a spatial map for LNTL's Colored MNIST network).
 * A configuration's bias heads are a list, one per {@link BiasHeadSpec}, each carrying the label
 * column it learns and the class weights of its cross-entropy.
 */

import type { Backend } from "../gpu/backend.ts";
import { BatchNorm2d } from "../nn/layers/batchnorm.ts";
import { Conv2d } from "../nn/layers/conv.ts";
import { Dropout } from "../nn/layers/dropout.ts";
import { Linear } from "../nn/layers/linear.ts";
import { Layer } from "../nn/module.ts";
import { add, relu } from "../nn/ops/elementwise.ts";
import { reshape } from "../nn/ops/layout.ts";
import { matmul } from "../nn/ops/matmul.ts";
import { bceWithLogits, crossEntropy } from "../nn/ops/loss.ts";
import { mean } from "../nn/ops/reduce.ts";
import { softmax } from "../nn/ops/softmax.ts";
import { keep } from "../nn/scope.ts";
import { type Tensor, tensor, zeros } from "../nn/tensor.ts";
import type { BiasHeadSpec } from "./config.ts";
import { inverseFrequencyWeights } from "./losses.ts";

/** The study's ClassificationHead: dropout 0.5, then one linear layer to `outDim` logits. */
export class MainHead extends Layer {
  readonly dropout: Dropout;
  readonly fc: Linear;

  constructor(inFeatures: number, readonly outDim = 1, options: { backend?: Backend } = {}) {
    super(options.backend);
    if (!Number.isInteger(outDim) || outDim < 1) {
      throw new Error(`main head: --out-dim must be a positive integer, got ${outDim}`);
    }
    this.dropout = this.addModule("dropout", new Dropout(0.5));
    this.fc = this.addModule("fc", new Linear(inFeatures, outDim, { backend: this.backend }));
  }

  forward(feat: Tensor): Tensor {
    return this.fc.forward(this.dropout.forward(feat));
  }
}

/**
 * The main task's loss from logits [N, K]: BCE-with-logits against `target` [N] for one logit (the
 * study's melanoma head), cross-entropy against i32 `labels` [N] for more (digits).
 */
export function mainLoss(logits: Tensor, target: Tensor, labels: Tensor): Tensor {
  if (logits.rank !== 2) throw new Error(`main loss needs logits [N, K], got [${logits.shape}]`);
  if (logits.shape[1] === 1) return bceWithLogits(logits, reshape(target, logits.shape));
  return crossEntropy(logits, labels);
}

export interface AuxiliaryHeadOptions {
  /** --deep-aux: a 128-unit hidden layer with ReLU before the output layer. */
  deep?: boolean;
  backend?: Backend;
}

/** The study's AuxiliaryHead (linear) or AuxiliaryHead2 (--deep-aux: linear 128, ReLU, linear). */
export class AuxiliaryHead extends Layer {
  readonly hidden: Linear | null;
  readonly fc: Linear;

  constructor(inFeatures: number, readonly classes: number, options: AuxiliaryHeadOptions = {}) {
    super(options.backend);
    const b = { backend: this.backend };
    this.hidden = options.deep ? this.addModule("hidden", new Linear(inFeatures, 128, b)) : null;
    this.fc = this.addModule("fc", new Linear(options.deep ? 128 : inFeatures, classes, b));
  }

  /** Logits [N, classes]; the losses take logits and apply a stable log-softmax themselves. */
  forward(feat: Tensor): Tensor {
    return this.fc.forward(this.hidden ? relu(this.hidden.forward(feat)) : feat);
  }

  /** The head's softmax, the study's second output. */
  probabilities(feat: Tensor): Tensor {
    return softmax(this.forward(feat), -1);
  }
}

/**
 * LNTL's Colored MNIST bias head on a feature map: conv3x3 C->C, BN, ReLU, conv3x3 C->classes,
 * then the class maps averaged over space, giving one prediction per image (the official code
 * scored every pixel against a per-pixel colour label; one label per image is what our Colored
 * MNIST provides, and what the study's vector heads do).
 */
export class SpatialBiasHead extends Layer {
  readonly conv1: Conv2d;
  readonly bn: BatchNorm2d;
  readonly conv2: Conv2d;

  constructor(channels: number, readonly classes: number, options: { backend?: Backend } = {}) {
    super(options.backend);
    const b = { backend: this.backend, padding: 1 };
    this.conv1 = this.addModule("conv1", new Conv2d(channels, channels, 3, b));
    this.bn = this.addModule("bn", new BatchNorm2d(channels, { backend: this.backend }));
    this.conv2 = this.addModule("conv2", new Conv2d(channels, classes, 3, b));
  }

  forward(feat: Tensor): Tensor {
    const h = relu(this.bn.forward(this.conv1.forward(feat)));
    return mean(this.conv2.forward(h), [2, 3]);
  }

  probabilities(feat: Tensor): Tensor {
    return softmax(this.forward(feat), -1);
  }
}

/**
 * A bias head that is also told the main label, like the adversary of Zhang et al. (2018): a
 * learned logit offset per (label, bias class), starting at zero, is added to the wrapped head's
 * logits. With the label's share of the bias explained by the offsets, the head needs the
 * features only for the bias evidence the label does not carry, so unlearning it spares the
 * features of the label itself, which a plain head reads the bias off when the two are strongly
 * correlated. `forward` gives the wrapped head's logits alone (the evidence beyond the label),
 * which is what the phase-1 terms flatten; the cross-entropy uses {@link forwardWithLabel}.
 */
export class LabelAwareHead extends Layer {
  readonly inner: Layer;
  /** [labelClasses, classes] logit offsets. */
  readonly offsets: Tensor;

  constructor(inner: Layer, readonly labelClasses: number, readonly classes: number) {
    super(inner.backend);
    if (!Number.isInteger(labelClasses) || labelClasses < 2) {
      throw new Error(`label-aware bias head needs >= 2 label classes, got ${labelClasses}`);
    }
    this.inner = this.addModule("inner", inner);
    this.offsets = this.addParameter(
      "offsets",
      zeros([labelClasses, classes], { backend: this.backend }),
    );
  }

  forward(feat: Tensor): Tensor {
    return this.inner.forward(feat);
  }

  /** Logits given the label as a one-hot [N, labelClasses]. */
  forwardWithLabel(feat: Tensor, labelOneHot: Tensor): Tensor {
    return add(this.inner.forward(feat), matmul(labelOneHot, this.offsets));
  }
}

/**
 * The logits a head's cross-entropy is scored on: a label-aware head adds its label offsets (it
 * needs `labelOneHot`), any other head ignores it.
 */
export function biasLogits(h: BiasHead, feat: Tensor, labelOneHot: Tensor | null): Tensor {
  if (!(h.module instanceof LabelAwareHead)) return h.module.forward(feat);
  if (!labelOneHot) {
    throw new Error(`label-aware bias head "${h.spec.column}" was given no label one-hot`);
  }
  return h.module.forwardWithLabel(feat, labelOneHot);
}

/** The main-label class count the heads want as a one-hot, or 0 when none is label-aware. */
export function labelClassesWanted(heads: readonly BiasHead[]): number {
  let classes = 0;
  for (const h of heads) {
    if (h.module instanceof LabelAwareHead) classes = Math.max(classes, h.module.labelClasses);
  }
  return classes;
}

/** One bias head of a configuration, ready to train. */
export interface BiasHead {
  spec: BiasHeadSpec;
  module: Layer;
  /** Class weights of its cross-entropy, on the device (kept); null for an unweighted loss. */
  weights: Tensor | null;
}

export type BiasHeadKind = "linear" | "deep" | "spatial";

export interface BuildHeadsOptions {
  kind: BiasHeadKind;
  /** Feature width (linear/deep) or channel count (spatial) of the encoder's output. */
  inFeatures: number;
  /** The training set's bias columns, for the class weights. */
  trainBias: Record<string, Int32Array>;
  /** "inverse-frequency" (the study) or "none" (LNTL's Colored MNIST code). */
  classWeights?: "inverse-frequency" | "none";
  /**
   * Main-label classes the heads are told (an extension: {@link LabelAwareHead}); absent or 0
   * for the study's heads, which see the features only.
   */
  labelAware?: number;
  backend?: Backend;
}

/** Builds the bias heads of `specs`, checking each column exists in the training labels. */
export function buildBiasHeads(specs: readonly BiasHeadSpec[], o: BuildHeadsOptions): BiasHead[] {
  return specs.map((spec) => {
    const column = o.trainBias[spec.column];
    if (!column) {
      throw new Error(
        `bias head wants label column "${spec.column}", but the training set has ` +
          `[${Object.keys(o.trainBias).join(", ")}]`,
      );
    }
    if (!Number.isInteger(spec.classes) || spec.classes < 2) {
      throw new Error(`bias head "${spec.column}" needs >= 2 classes, got ${spec.classes}`);
    }
    const b = { backend: o.backend };
    const inner = o.kind === "spatial"
      ? new SpatialBiasHead(o.inFeatures, spec.classes, b)
      : new AuxiliaryHead(o.inFeatures, spec.classes, { ...b, deep: o.kind === "deep" });
    const module = o.labelAware ? new LabelAwareHead(inner, o.labelAware, spec.classes) : inner;
    const weights = (o.classWeights ?? "inverse-frequency") === "none" ? null : keep(
      tensor(inverseFrequencyWeights(column, spec.classes), [spec.classes], {
        backend: module.backend,
      }),
    );
    return { spec, module, weights };
  });
}

/** Frees the heads' parameters and class weights. */
export function disposeBiasHeads(heads: readonly BiasHead[]): void {
  for (const h of heads) {
    h.module.dispose();
    h.weights?.dispose();
  }
}
