/**
 * The study's two-phase training step, for every configuration at once: a configuration is a
 * list of bias heads (method, label column, classes) plus GRL, so baseline (no heads), LNTL,
 * TABE, CLGR (= TABE + GRL), LNTL + GRL, doubleTABE, doubleLNTL, both and --switch-heads are all
 * the same function given different {@link DebiasSettings}.
 *
 * Phase 1: main loss plus each head's term (LNTL: lambda x mean sum p log p; TABE: confusion);
 * step `main` (encoder + main head) and, when a TABE head is present, the "boosted" encoder
 * optimiser with the SAME gradients. The heads get gradients here but are not stepped.
 * Phase 2 (not baseline): fresh forward, optional gradient reversal, each head's weighted
 * cross-entropy; step `main` (the main head has no gradient: PyTorch 1.8 gave it a zero one, so
 * momentum still moved it; `momentumOnZeroedGrads` reproduces that) and the heads' optimisers.
 * A label-aware head (an extension, heads.ts) is scored in phase 2 with its label offsets and in
 * phase 1 without them. At precision "f16" both phases run under autocast (nn/autocast.ts) and
 * each backward takes its loss times a device-side loss scale (nn/optim/loss-scaler.ts).
 */

import type { Batch } from "../data/batch.ts";
import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { autocast, type Precision } from "../nn/autocast.ts";
import type { Layer } from "../nn/module.ts";
import { add, gradReverse, scale } from "../nn/ops/elementwise.ts";
import { LossScaler } from "../nn/optim/loss-scaler.ts";
import type { Optimizer } from "../nn/optim/optimizer.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { keep, tidy } from "../nn/scope.ts";
import { type Tensor, tensor, zeros } from "../nn/tensor.ts";
import type { DebiasSettings } from "./config.ts";
import { type BiasHead, biasLogits, labelClassesWanted, mainLoss } from "./heads.ts";
import { auxiliaryLoss, lntlEntropyLoss, tabeConfusionLoss } from "./losses.ts";

/** What a debiasing step trains: encoder -> features -> main head, and the bias heads. */
export interface DebiasNetwork {
  encoder: Layer;
  /** Features to main-task logits [N, K] (K = 1: BCE on the target; K > 1: cross-entropy). */
  main: Layer;
  heads: BiasHead[];
}

/** The study's optimisers (all SGD with momentum). */
export interface DebiasOptimisers {
  /** Encoder + main head at lr-base. */
  main: SGD;
  /** The encoder again at lr-class, when any head is TABE ("boosted" encoder optimiser). */
  confusion: SGD | null;
  /** One per head: lr-base for LNTL heads, lr-class for TABE heads. */
  aux: SGD[];
}

/** Builds the optimisers exactly as the study's train.py assigned them. */
export function makeOptimisers(net: DebiasNetwork, s: DebiasSettings): DebiasOptimisers {
  const common = { momentum: s.momentum, weightDecay: s.weightDecay };
  const main = new SGD([...net.encoder.parameters(), ...net.main.parameters()], {
    lr: s.lrBase,
    ...common,
  });
  const anyTabe = net.heads.some((h) => h.spec.method === "TABE");
  const confusion = anyTabe
    ? new SGD(net.encoder.parameters(), { lr: s.lrClass, ...common })
    : null;
  const aux = net.heads.map((h) =>
    new SGD(h.module.parameters(), {
      lr: h.spec.method === "LNTL" ? s.lrBase : s.lrClass,
      ...common,
    })
  );
  return { main, confusion, aux };
}

/** Every optimiser, e.g. for a learning-rate schedule. */
export function allOptimisers(o: DebiasOptimisers): SGD[] {
  return [o.main, ...(o.confusion ? [o.confusion] : []), ...o.aux];
}

/** A batch on the device: images, main targets and one label tensor per bias head. */
export interface DeviceBatch {
  images: Tensor;
  /** f32 [N] (BCE targets). */
  target: Tensor;
  /** i32 [N] (cross-entropy labels). */
  labels: Tensor;
  /** i32 [N] per head, in head order. */
  bias: Tensor[];
  /** f32 [N, classes] one-hot of `labels`, when a head is label-aware; else null. */
  labelOneHot: Tensor | null;
}

/** The main labels as a host one-hot [N, classes], naming a label outside the classes. */
function hostOneHot(labels: Int32Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((y, i) => {
    if (!(y >= 0 && y < classes)) {
      throw new Error(
        `label-aware bias heads: main label ${y} of batch item ${i} is outside [0, ${classes})`,
      );
    }
    out[i * classes + y] = 1;
  });
  return out;
}

/** Uploads a loader batch, picking each head's label column. */
export function uploadBatch(b: Batch, heads: readonly BiasHead[], backend: Backend): DeviceBatch {
  const n = b.shape[0];
  const on = { backend };
  const labelClasses = labelClassesWanted(heads);
  return {
    images: tensor(b.images, b.shape, on),
    target: tensor(b.target, [n], on),
    labels: tensor(b.labels, [n], on),
    bias: heads.map((h) => {
      const column = b.bias[h.spec.column];
      if (!column) {
        throw new Error(
          `batch has no bias column "${h.spec.column}" (has ${Object.keys(b.bias).join(", ")})`,
        );
      }
      return tensor(column, [n], on);
    }),
    labelOneHot: labelClasses
      ? tensor(hostOneHot(b.labels, labelClasses), [n, labelClasses], on)
      : null,
  };
}

/** Frees an uploaded batch. */
export function disposeBatch(b: DeviceBatch): void {
  for (const t of [b.images, b.target, b.labels, ...b.bias]) t.dispose();
  b.labelOneHot?.dispose();
}

/** Per-step losses, detached and kept: read them in groups (backend.readMany), then dispose. */
export interface StepLosses {
  /** Phase-1 objective: main loss plus the debiasing terms (what the study logged as loss). */
  total: Tensor;
  main: Tensor;
  /** Phase-2 cross-entropy of each head. */
  aux: Tensor[];
}

export type DebiasStep = (batch: DeviceBatch) => StepLosses;

/** The phase-1 term of one head on its logits. */
function headTerm(h: BiasHead, logits: Tensor, s: DebiasSettings): Tensor {
  const w = h.spec.termWeight ?? 1;
  const term = h.spec.method === "LNTL"
    ? lntlEntropyLoss(logits, s.lambda)
    : tabeConfusionLoss(logits, s.alpha, s.confusionTarget);
  return w === 1 ? term : scale(term, w);
}

/** Gives each parameter without a gradient a zero one (kept), as PyTorch 1.8's zero_grad left. */
function zeroFillGrads(params: readonly Tensor[]): void {
  for (const p of params) {
    if (!p.grad) p.grad = keep(zeros(p.shape, { backend: p.backend }));
  }
}

/** What {@link makeDebiasStep} makes: the step, its optimisers, and its loss scaler at f16. */
export interface MadeDebiasStep {
  step: DebiasStep;
  optimisers: DebiasOptimisers;
  /** At precision "f16" (the caller disposes it); null at "f32". */
  scaler: LossScaler | null;
}

/**
 * The step of a configuration. Sets every module to training mode; the caller owns the
 * optimisers (learning-rate schedules write their `lr`).
 */
export function makeDebiasStep(
  net: DebiasNetwork,
  s: DebiasSettings,
  opt: DebiasOptimisers = makeOptimisers(net, s),
  precision: Precision = "f32",
): MadeDebiasStep {
  if (net.heads.length !== s.heads.length) {
    throw new Error(`network has ${net.heads.length} bias heads, settings ${s.heads.length}`);
  }
  const zeroAll = () => {
    for (const o of allOptimisers(opt)) o.zeroGrad();
  };
  const scaler = precision === "f16" ? new LossScaler(opt.main.params[0].backend) : null;
  const scaled = (loss: Tensor) => (scaler ? scaler.scale(loss) : loss);
  const stepOf = (o: Optimizer) => (scaler ? scaler.step(o) : o.step());
  const step: DebiasStep = (b) => {
    if (b.bias.length !== net.heads.length) {
      throw new Error(`batch has ${b.bias.length} bias label sets for ${net.heads.length} heads`);
    }
    for (const m of [net.encoder, net.main, ...net.heads.map((h) => h.module)]) m.train();
    const out = autocast(precision, () =>
      tidy((): StepLosses => {
        zeroAll();
        const feat = net.encoder.forward(b.images);
        const main = mainLoss(net.main.forward(feat), b.target, b.labels);
        let total = main;
        for (const h of net.heads) total = add(total, headTerm(h, h.module.forward(feat), s));
        backward(scaled(total));
        stepOf(opt.main);
        if (opt.confusion) stepOf(opt.confusion);
        if (net.heads.length === 0) return { total: total.detach(), main: main.detach(), aux: [] };

        opt.main.zeroGrad();
        for (const o of opt.aux) o.zeroGrad();
        let feat2 = net.encoder.forward(b.images);
        if (s.grl) feat2 = gradReverse(feat2, s.grlScale);
        const aux = net.heads.map((h, i) =>
          auxiliaryLoss(biasLogits(h, feat2, b.labelOneHot), b.bias[i], h.weights)
        );
        backward(scaled(aux.reduce((a, l) => add(a, l))));
        if (s.momentumOnZeroedGrads) zeroFillGrads(opt.main.params);
        stepOf(opt.main);
        for (const o of opt.aux) stepOf(o);
        return { total: total.detach(), main: main.detach(), aux: aux.map((l) => l.detach()) };
      }));
    scaler?.update();
    keep(out.total);
    keep(out.main);
    out.aux.forEach((t) => keep(t));
    return out;
  };
  return { step, optimisers: opt, scaler };
}

/** Frees a step's loss tensors. */
export function disposeLosses(l: StepLosses): void {
  l.total.dispose();
  l.main.dispose();
  for (const t of l.aux) t.dispose();
}
