/**
 * `train --dataset synth`: the study's pipeline on the synthetic skin artefacts, offline. The
 * training lesions carry the chosen artefacts correlated with malignancy (--synth-correlation);
 * the validation split is drawn from the same distribution (other lesions); the test sets show
 * one set of lesions plain, marked, with a ruler and under shifted instruments, as the private
 * Heidelberg sets show real lesions with and without an artefact.
 *
 * Which artefacts are correlated: those the bias flags name (--marked or --heid-test_marked,
 * --rulers or --heid-test_rulers, --instrument); with none named (the study's baselines 9 and
 * the like, trained on ISIC where every artefact is present) all three are, so a baseline sees
 * every shortcut its debiased counterparts unlearn one of. The others are uncorrelated.
 * Test sets: the Heidelberg flags select the pair (plain + marked, plain + rulers), --tune the
 * validation split, otherwise all four. Images are ImageNet-normalised, as every registered
 * trunk expects. --skew changes nothing here: the correlation already is the skew, so there are
 * no duplicated images for the study's extra flips to disguise, and training is un-augmented.
 */

import type { Dataset } from "../data/dataset.ts";
import { seededSample } from "../data/labels.ts";
import {
  makeSkinTestSets,
  makeSkinTrainSet,
  skinDataset,
  type SkinSet,
} from "../data/synthetic/skin-artefacts.ts";
import { type EvalSet, type TrainData, type TrainDataOptions } from "./train-data-common.ts";

/** The artefacts --dataset synth correlates with malignancy in training, by bias column. */
export function synthCorrelatedArtefacts(
  o: Pick<
    TrainDataOptions,
    "marked" | "rulers" | "instrument" | "heidTestMarked" | "heidTestRulers"
  >,
): { marked: boolean; scale: boolean; instrument: boolean } {
  const marked = o.marked || o.heidTestMarked;
  const scale = o.rulers || o.heidTestRulers;
  const none = !marked && !scale && !o.instrument;
  return { marked: marked || none, scale: scale || none, instrument: o.instrument || none };
}

function names(set: SkinSet, label: string): string[] {
  const width = String(Math.max(0, set.target.length - 1)).length;
  return Array.from(
    { length: set.target.length },
    (_, i) => `${label}-${String(i).padStart(width, "0")}`,
  );
}

function evalSet(name: string, set: SkinSet): EvalSet {
  return { name, dataset: skinDataset(set), imageNames: names(set, `synth-${name}`) };
}

/** The synthetic sets of `o` (see the module doc). */
export function buildSynthTrainData(o: TrainDataOptions): TrainData {
  const chosen = synthCorrelatedArtefacts(o);
  const c = (on: boolean) => (on ? o.synthCorrelation : 0);
  const correlation = {
    marked: c(chosen.marked),
    scale: c(chosen.scale),
    instrument: c(chosen.instrument),
  };
  const common = { seed: o.seed, size: o.imageSize };
  const train = makeSkinTrainSet({ ...common, n: o.synthTrainSize, correlation });
  const val = makeSkinTrainSet({ ...common, n: o.synthTestSize, split: "val", correlation });
  const all = makeSkinTestSets({
    ...common,
    n: o.synthTestSize,
    trainInstrumentCorrelation: correlation.instrument,
  });
  const valSet = evalSet("val", val);
  const tests: EvalSet[] = o.tune
    ? [valSet]
    : o.heidTestMarked
    ? [evalSet("plain", all.plain), evalSet("marked", all.marked)]
    : o.heidTestRulers
    ? [evalSet("plain", all.plain), evalSet("rulers", all.rulers)]
    : (["plain", "marked", "rulers", "instrument"] as const).map((k) => evalSet(k, all[k]));
  const trainSet: Dataset = skinDataset(train);
  // --cv: five folds of the training lesions by position in a seeded order.
  const folds = new Int32Array(train.target.length);
  seededSample(folds.length, 1, o.seed).forEach((i, k) => folds[i] = k % 5);
  const which = Object.entries(chosen).filter(([, on]) => on).map(([k]) => k).join("+");
  return {
    train: trainSet,
    trainImageNames: names(train, "synth-train"),
    val: valSet,
    tests,
    folds,
    augment: "none",
    description: `synthetic skin artefacts, ${o.imageSize} px: ${train.target.length} training ` +
      `lesions (${which} correlated ${o.synthCorrelation} with malignancy), ${val.target.length} ` +
      `validation, test sets ${tests.map((t) => t.name).join(", ")} of ${o.synthTestSize}`,
  };
}
