/**
 * A pretrained trunk for the synthetic skin benchmark: the public stand-in for the study's
 * ImageNet weights. The study fine-tuned trunks that already knew images; ours would otherwise
 * learn from scratch on the correlated training lesions, where the shortcut may be all it finds.
 * `pretrainSynthTrunk` trains the compact trunk and a main head on lesions of their own seed
 * (never one of the benchmark's) without markings or rulers (or, on request, with them drawn
 * independently of malignancy), then keeps the encoder alone as safetensors with its geometry
 * in the metadata; `loadSynthTrunk` builds a trunk from such a file. `cli.ts synth-pretrain` rebuilds
 * the shipped file, `synth --init-weights PATH` starts every method from it.
 */

import { dirname } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { DataLoader } from "../data/loader.ts";
import { makeSkinTrainSet, skinDataset } from "../data/synthetic/skin-artefacts.ts";
import type { Backend } from "../gpu/backend.ts";
import { selectBackend } from "../gpu/select.ts";
import { loadWeights, saveWeights } from "../nn/checkpoint.ts";
import { readSafetensors } from "../nn/safetensors.ts";
import { manualSeed } from "../nn/random.ts";
import type { BackendChoice } from "../gpu/select.ts";
import { MainHead } from "../debias/heads.ts";
import { mapBatches } from "../debias/run-epoch.ts";
import { rocAuc } from "./metrics.ts";
import { type SynthTrunk, synthTrunk } from "./synth-model.ts";
import { runBaselineStage } from "./unlearning-schedule.ts";
import { resolveDebias } from "../debias/config.ts";

/** The metadata tag of a pretrained synthetic trunk file. */
export const SYNTH_TRUNK_FORMAT = "skin-deep-unlearning/synth-trunk-v1";

/** Where the shipped trunk lives (rebuilt by `cli.ts synth-pretrain` with its defaults). */
export const SHIPPED_SYNTH_TRUNK = "experiments/weights/synth-trunk.safetensors";

/** The shipped trunk's file wherever the toolkit is run from (`train --arch synth-cnn --pretrained`). */
export function shippedSynthTrunkPath(): string {
  return fromFileUrl(new URL("./weights/synth-trunk.safetensors", import.meta.url));
}

export interface SynthPretrainOptions {
  /** Seed of the pretraining lesions and of the trunk's initialisation. */
  seed: number;
  /** Markings and rulers in the pretraining lesions: absent, or independent of malignancy. */
  artefacts: PretrainArtefacts;
  trainSize: number;
  /** Held-out lesions (the same seed's "val" split) the file's AUC is measured on. */
  valSize: number;
  epochs: number;
  imageSize: number;
  width: number;
  batchSize: number;
  lr: number;
  momentum: number;
  out: string;
  backend: BackendChoice;
  quiet: boolean;
}

export interface SynthPretrainResult {
  path: string;
  /** Held-out AUC of the pretraining task (lesions like the training ones). */
  valAuc: number;
  seconds: number;
}

/**
 * What the pretraining lesions carry. "none": no markings and no rulers (instrument styles
 * independent of malignancy), as ImageNet never taught a trunk that a pen mark or a ruler means
 * nothing; "uncorrelated": both drawn independently of malignancy, which teaches the trunk to
 * ignore them before the benchmark starts.
 */
export type PretrainArtefacts = "none" | "uncorrelated";

/** The pretraining set's artefact probabilities. */
export function pretrainCorrelation(a: PretrainArtefacts) {
  const absent = { malignant: 0, benign: 0 };
  return a === "none"
    ? { marked: absent, scale: absent, instrument: 0 }
    : { marked: 0, scale: 0, instrument: 0 };
}

/** Trains and writes a pretrained trunk (encoder weights only); returns its held-out AUC. */
export async function pretrainSynthTrunk(
  o: SynthPretrainOptions,
  log: (line: string) => void = console.log,
): Promise<SynthPretrainResult> {
  const start = performance.now();
  await Deno.mkdir(dirname(o.out) || ".", { recursive: true });
  const { backend, reason } = await selectBackend(o.backend);
  log(
    `synth-pretrain: backend ${backend.name} (${reason}); ${o.trainSize} lesions ` +
      `(${o.artefacts === "none" ? "no markings or rulers" : "artefacts uncorrelated"}) ` +
      `of seed ${o.seed}, ${o.epochs} epoch(s), ${o.imageSize} px, width ${o.width}`,
  );
  const common = { seed: o.seed, size: o.imageSize, correlation: pretrainCorrelation(o.artefacts) };
  const train = makeSkinTrainSet({ ...common, n: o.trainSize, split: "train" });
  const val = makeSkinTrainSet({ ...common, n: o.valSize, split: "val" });
  manualSeed(o.seed);
  const { encoder, features } = synthTrunk(o.width, backend);
  const main = new MainHead(features, 1, { backend });
  const loader = new DataLoader(skinDataset(train), {
    batchSize: o.batchSize,
    seed: o.seed,
    dropLast: true,
  });
  try {
    await runBaselineStage({
      encoder,
      main,
      settings: resolveDebias({ debiasConfig: "baseline", lrBase: o.lr, momentum: o.momentum }),
      schedule: { baselineEpochs: o.epochs, warmupEpochs: 0, debiasLrFactor: 1 },
      loader,
      backend,
      tag: "synth-pretrain",
      quiet: o.quiet,
      log,
    });
    encoder.eval();
    main.eval();
    const [logits] = await mapBatches(val.images, val.shape, backend, 250, (x) => [
      main.forward(encoder.forward(x)),
    ]);
    const valAuc = rocAuc(logits, val.target);
    await saveWeights(o.out, encoder, {
      format: SYNTH_TRUNK_FORMAT,
      width: String(o.width),
      imageSize: String(o.imageSize),
      seed: String(o.seed),
      artefacts: o.artefacts,
      trainSize: String(o.trainSize),
      epochs: String(o.epochs),
      valAuc: valAuc.toFixed(4),
    });
    const seconds = (performance.now() - start) / 1000;
    log(
      `synth-pretrain: held-out AUC ${valAuc.toFixed(3)}; wrote ${o.out} (${seconds.toFixed(0)} s)`,
    );
    return { path: o.out, valAuc, seconds };
  } finally {
    loader.close();
    encoder.dispose();
    main.dispose();
  }
}

/** What a trunk file says about itself. */
export interface SynthTrunkInfo {
  width: number;
  imageSize: number;
  metadata: Record<string, string>;
}

/** Reads and checks a trunk file's metadata, naming the file when it is not one. */
export async function readSynthTrunkInfo(path: string): Promise<SynthTrunkInfo> {
  const { metadata } = await readSafetensors(path);
  if (metadata.format !== SYNTH_TRUNK_FORMAT) {
    throw new Error(
      `${path}: not a synthetic trunk file (format "${metadata.format ?? "none"}", expected ` +
        `"${SYNTH_TRUNK_FORMAT}"; rebuild it with cli.ts synth-pretrain)`,
    );
  }
  const width = Number(metadata.width);
  const imageSize = Number(metadata.imageSize);
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(imageSize) && imageSize > 0)) {
    throw new Error(`${path}: bad width "${metadata.width}" or imageSize "${metadata.imageSize}"`);
  }
  return { width, imageSize, metadata };
}

/**
 * A trunk initialised from a pretrained file. `expect` names the run's width and image size: a
 * file made for another geometry is refused with both numbers.
 */
export async function loadSynthTrunk(
  path: string,
  expect: { width: number; imageSize: number },
  backend?: Backend,
): Promise<SynthTrunk> {
  const info = await readSynthTrunkInfo(path);
  if (info.width !== expect.width || info.imageSize !== expect.imageSize) {
    throw new Error(
      `${path}: trunk of width ${info.width} for ${info.imageSize} px images, but the run uses ` +
        `--width ${expect.width} and --image-size ${expect.imageSize}`,
    );
  }
  const trunk = synthTrunk(info.width, backend);
  try {
    await loadWeights(path, trunk.encoder);
  } catch (err) {
    trunk.encoder.dispose();
    throw err;
  }
  return trunk;
}
