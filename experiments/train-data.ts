/**
 * The data of a `train` run: the training set with every bias column the heads may need, the
 * validation split for the per-epoch AUC, the test sets to report, the CV folds and the training
 * augmentation, for each --dataset. The run loop sees only {@link TrainData}; each dataset's
 * rules live in its own module (train-data-synth.ts, -isic.ts, -fitzpatrick.ts).
 *
 * --DEBUG does not change the data: the run loop limits the batches.
 */

import type { LoaderOptions } from "../data/loader.ts";
import type { TrainData, TrainDataOptions } from "./train-data-common.ts";
import { buildFitzpatrickTrainData } from "./train-data-fitzpatrick.ts";
import { buildIsicTrainData } from "./train-data-isic.ts";
import { buildSynthTrainData } from "./train-data-synth.ts";

export type { EvalSet, TrainAugment, TrainData, TrainDataOptions } from "./train-data-common.ts";

/** Builds the run's data for `o.dataset`; missing files are errors naming the command that makes them. */
export async function buildTrainData(o: TrainDataOptions): Promise<TrainData> {
  switch (o.dataset) {
    case "synth":
      return buildSynthTrainData(o);
    case "ISIC":
      return await buildIsicTrainData(o);
    case "Fitzpatrick17k":
      return await buildFitzpatrickTrainData(o);
  }
}

/** The loader options that apply `data.augment` to `data.train`. */
export function loaderAugmentation(
  data: Pick<TrainData, "augment" | "train">,
): Pick<LoaderOptions, "augment" | "flipSamples"> {
  if (data.augment === "none") return { augment: "none" };
  if (data.augment === "flips") return { augment: "flips" };
  const marked = data.train.bias.marked;
  if (!marked) throw new Error("study augmentation: the training set has no marked column");
  return { augment: "flips", flipSamples: marked };
}
