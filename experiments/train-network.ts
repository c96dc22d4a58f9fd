/**
 * The network of a train run, built the same way by training, --resume and `evaluate`: the trunk
 * --arch names (through the one registry, nn/models/registry.ts), the study's classification
 * head, and the bias heads of its --debias-config. Each part is saved under its own name
 * (`encoder`, `classifier`, `aux1`, `aux2`: the study's model_encoder, model_classifier,
 * model_aux, model_aux2), so the weights files read like the study's.
 */

import type { Backend } from "../gpu/backend.ts";
import type { Module } from "../nn/module.ts";
import { buildTrunk, type Trunk } from "../nn/models/registry.ts";
import { manualSeed } from "../nn/random.ts";
import type { DebiasSettings } from "../debias/config.ts";
import { type BiasHead, buildBiasHeads, disposeBiasHeads, MainHead } from "../debias/heads.ts";
import type { DebiasNetwork } from "../debias/train-step.ts";
import { debiasSettingsOf } from "./train-config.ts";
import type { TrainOptions } from "./train-options.ts";
import { initTrunkWeights } from "./train-trunk-weights.ts";

/** A built network with its settings. */
export interface TrainNetwork extends DebiasNetwork {
  trunk: Trunk;
  main: MainHead;
  heads: BiasHead[];
  settings: DebiasSettings;
}

/** The main label's classes the label-aware heads are told (melanoma or not). */
const MAIN_CLASSES = 2;

/**
 * Builds the network of `o` with fresh weights drawn from `o.seed` (and --weights or --pretrained
 * loaded into the trunk: experiments/train-trunk-weights.ts); `trainBias` are the training set's
 * bias columns, for the heads' class weights.
 */
export async function buildTrainNetwork(
  o: TrainOptions,
  trainBias: Record<string, Int32Array>,
  backend: Backend,
): Promise<TrainNetwork> {
  manualSeed(o.seed);
  const settings = debiasSettingsOf(o);
  const trunk = buildTrunk(o.arch, o.enetType, { backend, dropPath: o.dropPath });
  const made: Module[] = [trunk.encoder];
  try {
    await initTrunkWeights(trunk, o);
    const main = new MainHead(trunk.features, o.outDim, { backend });
    made.push(main);
    const heads = buildBiasHeads(settings.heads, {
      kind: o.deepAux ? "deep" : "linear",
      inFeatures: trunk.features,
      trainBias,
      labelAware: o.labelAwareAux ? MAIN_CLASSES : 0,
      backend,
    });
    return { trunk, encoder: trunk.encoder, main, heads, settings };
  } catch (err) {
    for (const m of made) m.dispose();
    throw err;
  }
}

/** The parts of the network by file name, in a fixed order. */
export function networkParts(net: DebiasNetwork): [string, Module][] {
  return [
    ["encoder", net.encoder],
    ["classifier", net.main],
    ...net.heads.map((h, i): [string, Module] => [`aux${i + 1}`, h.module]),
  ];
}

/** What each bias head learns, for logs and plot legends: "marked (TABE, 2 classes)". */
export function headNames(net: Pick<DebiasNetwork, "heads">): string[] {
  return net.heads.map((h) => `${h.spec.column} (${h.spec.method}, ${h.spec.classes} classes)`);
}

/** Frees every parameter of the network. */
export function disposeTrainNetwork(net: TrainNetwork): void {
  net.encoder.dispose();
  net.main.dispose();
  disposeBiasHeads(net.heads);
}
