/**
 * The trunk's initial weights for `train`: `--weights PATH` (any local safetensors state dict of
 * the trunk, torchvision / timm layout or our own encoder file), else `--pretrained` (timm's
 * ImageNet weights from the Hugging Face hub, cached under $SDU_CACHE or the platform cache dir,
 * resumable, checksummed), else none (`--pretrained false`: the seeded initialisers). Both load
 * strictly: only the ImageNet classifier's keys may be left out. The input normalisation those
 * weights expect is the registry entry's, which the data pipeline applies
 * (experiments/train-data-common.ts trunkNormalisation). The synthetic benchmark's compact CNN
 * has no ImageNet weights: its `--pretrained` is the shipped trunk pretrained on synthetic lesions
 * without markings or rulers (experiments/weights/synth-trunk.safetensors, rebuilt by `cli.ts
 * synth-pretrain`), the public stand-in for them.
 */

import { fetchHubFile } from "../data/hub-download.ts";
import type { HttpContext } from "../data/http-download.ts";
import type { Trunk } from "../nn/models/registry.ts";
import { loadTrunkWeights } from "../nn/models/trunk-weights.ts";
import { cacheRoot, hubBaseUrl, pretrainedSource } from "../nn/pretrained/source.ts";
import { readSynthTrunkInfo, shippedSynthTrunkPath } from "./synth-pretrain.ts";

/** The options the choice depends on (a subset of TrainOptions). */
export interface TrunkWeightOptions {
  pretrained: boolean;
  weights?: string;
  /** The hub's base URL; default $SDU_HUB_URL, $HF_ENDPOINT or https://huggingface.co. */
  hubUrl?: string;
  /** No progress bar. */
  quiet?: boolean;
}

/** Where the weights came from, for the run log; undefined when the trunk starts from scratch. */
export interface TrunkWeightsOrigin {
  description: string;
  path: string;
  sha256?: string;
}

/**
 * Loads the initial weights `o` asks for into `trunk.encoder` and says where they came from.
 * `ctx` carries the network plumbing (tests inject a fetch or a progress sink).
 */
export async function initTrunkWeights(
  trunk: Trunk,
  o: TrunkWeightOptions,
  { log = console.log, ...ctx }: HttpContext & { log?: (line: string) => void } = {},
): Promise<TrunkWeightsOrigin | undefined> {
  if (o.weights) {
    const report = await loadTrunkWeights(trunk, o.weights);
    const note = o.pretrained ? " (--weights given, so --pretrained is not fetched)" : "";
    const origin = { description: `--weights ${o.weights}${note}`, path: o.weights };
    log(`trunk ${trunk.name}: ${origin.description}, ${report.loaded} tensors`);
    return origin;
  }
  if (!o.pretrained) return undefined;
  if (trunk.name === "synth-cnn") return await initSynthTrunk(trunk, log);
  const source = pretrainedSource(trunk.name);
  const got = await fetchHubFile(source, {
    progress: !o.quiet,
    ...ctx,
    hubUrl: hubBaseUrl(o.hubUrl),
    cacheRoot: cacheRoot(),
    log,
  });
  const report = await loadTrunkWeights(trunk, got.path, {
    source: `--pretrained (${source.repo}, cached at ${got.path})`,
  });
  const how = got.downloaded ? (got.resumed ? "downloaded (resumed)" : "downloaded") : "cached";
  const origin = {
    description: `ImageNet weights ${source.repo} (${how}, sha256 ${got.sha256.slice(0, 12)}…)`,
    path: got.path,
    sha256: got.sha256,
  };
  log(`trunk ${trunk.name}: ${origin.description}, ${report.loaded} tensors`);
  return origin;
}

/** The shipped synthetic trunk, checked to be one, with the lesions it was pretrained on. */
async function initSynthTrunk(
  trunk: Trunk,
  log: (line: string) => void,
): Promise<TrunkWeightsOrigin> {
  const path = shippedSynthTrunkPath();
  const info = await readSynthTrunkInfo(path);
  const report = await loadTrunkWeights(trunk, path, { source: `--pretrained (${path})` });
  const m = info.metadata;
  const origin = {
    description: `the shipped synthetic trunk ${path} (${m.trainSize} lesions of seed ` +
      `${m.seed}, artefacts ${m.artefacts ?? "uncorrelated"}, ${m.epochs} epochs at ` +
      `${info.imageSize} px, held-out AUC ${m.valAuc})`,
    path,
  };
  log(`trunk ${trunk.name}: ${origin.description}, ${report.loaded} tensors`);
  return origin;
}
