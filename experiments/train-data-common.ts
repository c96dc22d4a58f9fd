/**
 * What every dataset module of `train` shares: the shapes of {@link TrainData} (re-exported by
 * train-data.ts, which the run loop imports), the options the data depends on, and the rules
 * that do not depend on the dataset (the study's augmentation, the trunk's normalisation).
 */

import { type Dataset, FileDataset } from "../data/dataset.ts";
import type { Normalisation } from "../data/image-decode.ts";
import { type LabelRecord, toDatasetRows } from "../data/labels.ts";
import { resolveTrunkName, trunkEntry } from "../nn/models/registry.ts";
import type { TrainOptions } from "./train-options.ts";

/** A set the run scores: its name in metrics.json, its samples and one name per sample. */
export interface EvalSet {
  name: string;
  dataset: Dataset;
  imageNames: string[];
}

/**
 * What the loader applies in training: "none"; "flips" (transpose, vertical and horizontal flip,
 * each with p = 0.5, on every sample); "study" (the same flips on the marked samples only: the
 * study's extra transform under --skew, which treats the duplicated images as new data).
 */
export type TrainAugment = "none" | "flips" | "study";

export interface TrainData {
  /**
   * Carries every bias column the heads may need (marked, scale, instrument; Fitzpatrick17k:
   * skin_type instead); -1 where a sample's value is unknown.
   */
  train: Dataset;
  trainImageNames: string[];
  /** For the per-epoch validation AUC (ISIC: the 2018 split; synth: a generated val set). */
  val?: EvalSet;
  /** The test sets to report, in the study's order. */
  tests: EvalSet[];
  /** Per training sample, CV fold 0..4 (-1: in no fold), for --cv. */
  folds?: Int32Array;
  augment: TrainAugment;
  /** One line for the log. */
  description: string;
}

/** The training options the data depends on. */
export type TrainDataOptions = Pick<
  TrainOptions,
  | "dataset"
  | "arch"
  | "enetType"
  | "imageDir"
  | "csvDir"
  | "imageSize"
  | "seed"
  | "marked"
  | "rulers"
  | "instrument"
  | "skew"
  | "duplicationsM"
  | "duplicationsR"
  | "heidTestMarked"
  | "heidTestRulers"
  | "heidelbergDir"
  | "tune"
  | "synthCorrelation"
  | "synthTrainSize"
  | "synthTestSize"
>;

/** The study's rule: extra flips on the marked images under --skew, nothing otherwise. */
export function studyAugment(o: Pick<TrainOptions, "skew">): TrainAugment {
  return o.skew ? "study" : "none";
}

/** The normalisation the trunk's weights expect (ImageNet for every registered trunk). */
export function trunkNormalisation(o: Pick<TrainOptions, "arch" | "enetType">): Normalisation {
  return trunkEntry(resolveTrunkName(o.arch, o.enetType)).normalisation;
}

/** Every ISIC / Heidelberg set carries all three bias columns, so any head finds its labels. */
export const BIAS_COLUMNS = ["marked", "scale", "instrument"] as const;

/** An evaluation set of label records, read as the trunk expects. */
export function recordSet(
  name: string,
  records: readonly LabelRecord[],
  o: Pick<TrainDataOptions, "imageSize">,
  norm: Normalisation,
): EvalSet {
  return {
    name,
    dataset: new FileDataset(toDatasetRows(records, BIAS_COLUMNS), o.imageSize, norm),
    imageNames: records.map((r) => r.imageName),
  };
}
