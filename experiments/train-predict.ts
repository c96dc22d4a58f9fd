/**
 * Scores of a trained network on one set, as the study's test.py computed them: the sigmoid of
 * the main head averaged over the 8 flip/transpose variants of each image (test-time
 * augmentation, data/augment.ts), in eval mode and without a graph. The same pass keeps the
 * pooled trunk features of the un-augmented images (the report's bias audit fits its probes on
 * them) and, when asked, a few images themselves (for saliency maps). Without TTA (the per-epoch
 * validation AUC) only the un-augmented images are scored.
 */

import type { Batch, NCHW } from "../data/batch.ts";
import type { Dataset } from "../data/dataset.ts";
import { DataLoader } from "../data/loader.ts";
import { ttaVariant } from "../data/augment.ts";
import type { Backend } from "../gpu/backend.ts";
import { noGrad } from "../nn/autograd.ts";
import { sigmoid } from "../nn/ops/elementwise.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import type { DebiasNetwork } from "../debias/train-step.ts";

/** What {@link predictSet} returns, in the set's order. */
export interface SetScores {
  /** Mean sigmoid over the variants scored. */
  scores: Float64Array;
  targets: Float32Array;
  /** [n, dim] pooled features of the un-augmented images (empty unless asked). */
  features: Float32Array;
  featureDim: number;
  /** The images asked for by `keepImages`, in that order, as one NCHW array. */
  kept: { images: Float32Array; shape: NCHW };
}

export interface PredictOptions {
  backend: Backend;
  batchSize: number;
  numWorkers: number;
  /** Average over the 8 TTA variants (default true). */
  tta?: boolean;
  /** Keep the pooled features (default false). */
  features?: boolean;
  /** Dataset indices whose (un-augmented) images to return. */
  keepImages?: readonly number[];
  /** Score only the first `limit` batches (--DEBUG's validation). */
  limitBatches?: number;
}

/** Runs one batch's variants and reads the scores (and features) back in one round trip. */
async function scoreBatch(
  net: DebiasNetwork,
  batch: Batch,
  o: PredictOptions,
): Promise<{ probs: Float64Array; features: Float32Array | null }> {
  const n = batch.shape[0];
  const variants = o.tta === false ? 1 : 8;
  const outs = noGrad(() =>
    tidy(() => {
      const list: Tensor[] = [];
      for (let v = 0; v < variants; v++) {
        const images = v === 0 ? batch.images : ttaVariant(batch.images, batch.shape, v);
        const feat = net.encoder.forward(tensor(images, batch.shape, { backend: o.backend }));
        list.push(sigmoid(net.main.forward(feat)));
        if (v === 0 && o.features) list.push(feat);
      }
      return list;
    })
  );
  let values;
  try {
    values = await o.backend.readMany(outs.map((t) => t.storage));
  } finally {
    outs.forEach((t) => t.dispose());
  }
  const probs = new Float64Array(n);
  let features: Float32Array | null = null;
  let k = 0;
  for (let v = 0; v < variants; v++) {
    const p = values[k++];
    if (p.length !== n) throw new Error(`the main head gave ${p.length} scores for ${n} images`);
    for (let i = 0; i < n; i++) probs[i] += p[i] / variants;
    if (v === 0 && o.features) features = values[k++] as Float32Array;
  }
  return { probs, features };
}

/** Scores every image of `dataset` (see the module doc). */
export async function predictSet(
  net: DebiasNetwork,
  dataset: Dataset,
  o: PredictOptions,
): Promise<SetScores> {
  const modules = [net.encoder, net.main];
  const wasTraining = modules.map((m) => m.training);
  modules.forEach((m) => m.eval());
  const loader = new DataLoader(dataset, {
    batchSize: o.batchSize,
    shuffle: false,
    numWorkers: o.numWorkers,
    onCorrupt: "error",
  });
  const [c, h, w] = dataset.sampleShape;
  const per = c * h * w;
  const keep = new Map((o.keepImages ?? []).map((index, k) => [index, k]));
  const kept = new Float32Array(keep.size * per);
  const scores: number[] = [];
  const targets: number[] = [];
  const featureParts: Float32Array[] = [];
  let featureDim = 0;
  let batches = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      if (o.limitBatches !== undefined && batches >= o.limitBatches) break;
      batches++;
      const { probs, features } = await scoreBatch(net, batch, o);
      probs.forEach((p, i) => {
        scores.push(p);
        targets.push(batch.target[i]);
        const slot = keep.get(batch.indices[i]);
        if (slot !== undefined) kept.set(batch.images.subarray(i * per, (i + 1) * per), slot * per);
      });
      if (features) {
        featureDim = features.length / batch.shape[0];
        featureParts.push(features);
      }
    }
  } finally {
    loader.close();
    modules.forEach((m, i) => m.train(wasTraining[i]));
  }
  const features = new Float32Array(featureParts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of featureParts) {
    features.set(p, at);
    at += p.length;
  }
  return {
    scores: Float64Array.from(scores),
    targets: Float32Array.from(targets),
    features,
    featureDim,
    kept: { images: kept, shape: [keep.size, c, h, w] },
  };
}
