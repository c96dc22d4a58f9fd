/**
 * Our side of the SD row: one step of `train --dataset synth`'s CLGR epoch at the demo's size,
 * built from the same parts as the run loop (the registry's synth-cnn trunk, the study's heads,
 * the two-phase TABE + GRL step and its SGD optimisers), on a fixed batch uploaded each step as
 * the loader's batches are, ending with the step's losses on the host.
 */

import type { Precision } from "../nn/autocast.ts";
import type { Batch } from "../data/batch.ts";
import type { Backend } from "../gpu/backend.ts";
import { resolveDebias } from "../debias/config.ts";
import { buildBiasHeads, disposeBiasHeads, MainHead } from "../debias/heads.ts";
import {
  allOptimisers,
  disposeBatch,
  disposeLosses,
  makeDebiasStep,
  uploadBatch,
} from "../debias/train-step.ts";
import { buildTrunk } from "../nn/models/registry.ts";
import { manualSeed } from "../nn/random.ts";
import { setDefaultBackend } from "../nn/tensor.ts";
import type { WorkloadSpec } from "./specs.ts";

/** The learning rates of the demo (experiments/demo-options.ts defaults). */
const LR = 0.01;

/** A fixed batch of `n` images with alternating targets and markings. */
function fixedBatch(s: WorkloadSpec): Batch {
  const n = s.batch;
  let state = 1;
  const images = Float32Array.from({ length: n * 3 * s.size * s.size }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const marked = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  return {
    images,
    shape: [n, 3, s.size, s.size],
    target: Float32Array.from(labels),
    labels,
    bias: { marked },
    indices: Int32Array.from({ length: n }, (_, i) => i),
  };
}

/** One CLGR step (see the module doc); `dispose` frees the network and optimisers. */
export function synthDebiasRow(backend: Backend, s: WorkloadSpec, precision: Precision = "f32") {
  setDefaultBackend(backend);
  manualSeed(0);
  const trunk = buildTrunk("synth-cnn", undefined, { backend, width: s.width });
  const main = new MainHead(trunk.features, 1, { backend });
  const settings = resolveDebias({
    debiasConfig: "TABE",
    GRL: true,
    marked: true,
    lrBase: LR,
    lrClass: LR,
  });
  const batch = fixedBatch(s);
  const heads = buildBiasHeads(settings.heads, {
    kind: "linear",
    inFeatures: trunk.features,
    trainBias: batch.bias,
    backend,
  });
  const { step, optimisers, scaler } = makeDebiasStep(
    { encoder: trunk.encoder, main, heads },
    settings,
    undefined,
    precision,
  );
  return {
    step: async () => {
      const device = uploadBatch(batch, heads, backend);
      let losses;
      try {
        losses = step(device);
      } finally {
        disposeBatch(device);
      }
      const values = await backend.readMany(
        [losses.total, losses.main, ...losses.aux].map((t) => t.storage),
      );
      disposeLosses(losses);
      if (!values.every((v) => Number.isFinite(v[0]))) {
        throw new Error(`${s.id}: a training loss became ${values.map((v) => v[0])}`);
      }
    },
    dispose: () => {
      for (const o of allOptimisers(optimisers)) o.dispose();
      scaler?.dispose();
      trunk.encoder.dispose();
      main.dispose();
      disposeBiasHeads(heads);
    },
  };
}
