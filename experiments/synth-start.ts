/**
 * Where every method of one `synth` seed starts: the trunk (random, or a pretrained synthetic
 * trunk under --init-weights) and the main head, after the plain baseline stage of the unlearning
 * schedule (--baseline-epochs). Trained once per seed and copied to the host, so each method
 * begins its unlearning stage from the same weights and the baseline stage is not repeated.
 */

import type { Precision } from "../nn/autocast.ts";
import { DataLoader } from "../data/loader.ts";
import { skinDataset, type SkinSet } from "../data/synthetic/skin-artefacts.ts";
import type { Backend } from "../gpu/backend.ts";
import type { HostTensor } from "../nn/host-tensor.ts";
import { manualSeed } from "../nn/random.ts";
import { resolveDebias } from "../debias/config.ts";
import { MainHead } from "../debias/heads.ts";
import type { EpochLosses } from "../debias/run-epoch.ts";
import { synthTrunk } from "./synth-model.ts";
import { loadSynthTrunk } from "./synth-pretrain.ts";
import { runBaselineStage, type UnlearningSchedule } from "./unlearning-schedule.ts";

/** The starting weights of a seed's methods, on the host. */
export interface SynthStart {
  encoder: Map<string, HostTensor>;
  main: Map<string, HostTensor>;
  /** Losses of the baseline stage (empty without one). */
  epochs: EpochLosses[];
}

/** What the start needs from the synth options. */
export interface SynthStartOptions {
  width: number;
  imageSize: number;
  batchSize: number;
  lrBase: number;
  lrClass: number;
  momentum: number;
  initWeights?: string;
  readEvery: number;
  quiet: boolean;
  precision?: Precision;
}

/**
 * Builds the seed's trunk and main head exactly as a method would (same seed, same draws), loads
 * --init-weights into the trunk, runs the baseline stage and returns the weights.
 */
export async function synthStart(
  o: SynthStartOptions,
  schedule: UnlearningSchedule,
  train: SkinSet,
  seed: number,
  backend: Backend,
  log: (line: string) => void,
  sampleWeights?: Float64Array,
): Promise<SynthStart> {
  manualSeed(seed);
  const { encoder, features } = synthTrunk(o.width, backend);
  const main = new MainHead(features, 1, { backend });
  const loader = new DataLoader(skinDataset(train), {
    batchSize: o.batchSize,
    seed,
    dropLast: true,
    sampleWeights,
  });
  try {
    if (o.initWeights) {
      const pretrained = await loadSynthTrunk(o.initWeights, o, backend);
      encoder.loadStateDict(pretrained.encoder.stateDict());
      pretrained.encoder.dispose();
    }
    const epochs = await runBaselineStage({
      encoder,
      main,
      settings: resolveDebias({
        debiasConfig: "baseline",
        lrBase: o.lrBase,
        lrClass: o.lrClass,
        momentum: o.momentum,
      }),
      schedule,
      loader,
      backend,
      readEvery: o.readEvery,
      tag: `seed=${seed}`,
      quiet: o.quiet,
      precision: o.precision,
      log,
    });
    return { encoder: await encoder.stateDictHost(), main: await main.stateDictHost(), epochs };
  } finally {
    loader.close();
    encoder.dispose();
    main.dispose();
  }
}
