/**
 * `train --dataset ISIC`: the study's data as `deno task download` leaves it. Training rows come
 * from isic_train_20-19-18-17.csv through the study's label logic (data/labels.ts: --skew with
 * its duplications, MClass leakage removed, 2019 rows and tfrecord -1 dropped, CV folds, the
 * 2018 rows taken out as the validation split, --instrument keeping the study's eight image-size
 * groups). Test sets: the validation split under --tune, the Heidelberg pair under
 * --heid-test_marked / --heid-test_rulers (train-data-heidelberg.ts), else the five external sets
 * (Atlas dermoscopic and clinical, ASAN, MClass dermoscopic and clinical). Augmentation as the
 * study: its extra flips on the marked images under --skew, nothing else.
 *
 * Bias columns the study did not annotate read -1 (unknown) rather than its placeholders: the
 * instrument of the validation and test images, and markings and rulers of the external test
 * sets (a `marked` column in their CSV is used when there is one), so the report's probes and
 * predictions.json never mistake a placeholder for a label.
 */

import { readCsvFile } from "../data/csv.ts";
import {
  buildTestLabels,
  loadTrainingLabels,
  TEST_SETS,
  type TestSetName,
} from "../data/labels.ts";
import {
  type EvalSet,
  recordSet,
  studyAugment,
  type TrainData,
  type TrainDataOptions,
  trunkNormalisation,
} from "./train-data-common.ts";
import { type DownloadLayout, requireCsv, requireImages } from "./train-data-files.ts";
import { heidelbergTests } from "./train-data-heidelberg.ts";

/**
 * The image sizes the study kept as instrument proxies, as its code lists them; the instrument
 * class is the index in sorted order (so "640x640" follows "6000x6000").
 */
export const STUDY_INSTRUMENT_SIZES: readonly string[] = [
  "6000x6000",
  "1872x1872",
  "640x640",
  "5184x5184",
  "1024x1024",
  "3264x3264",
  "4288x4288",
  "2592x2592",
];

/** The five external test sets, in the study's order, by the names metrics.json uses. */
export const EXTERNAL_TEST_SETS: readonly [string, TestSetName][] = [
  ["atlas_dermoscopic", "atlas_derm"],
  ["atlas_clinical", "atlas_clinic"],
  ["asan", "asan"],
  ["mclass_dermoscopic", "mclass_derm"],
  ["mclass_clinical", "mclass_clinic"],
];

/** The ISIC training data of `o` (see the module doc); missing files name their download. */
export async function buildIsicTrainData(o: TrainDataOptions): Promise<TrainData> {
  const norm = trunkNormalisation(o);
  const layout: DownloadLayout = { imageDir: o.imageDir, imageSize: o.imageSize };
  const paths = { csvDir: o.csvDir, imageDir: o.imageDir, imageSize: o.imageSize };
  await requireCsv(`${o.csvDir}/isic_train_20-19-18-17.csv`, layout);
  await requireCsv(`${o.csvDir}/MClassD.csv`, layout);
  const labels = await loadTrainingLabels(paths, {
    seed: o.seed,
    marked: o.marked,
    rulers: o.rulers,
    instrument: o.instrument,
    skew: o.skew,
    duplicationsM: o.duplicationsM,
    duplicationsR: o.duplicationsR,
    instrumentSizes: [...STUDY_INSTRUMENT_SIZES],
  });
  if (labels.train.length === 0) {
    throw new Error(
      `${o.csvDir}/isic_train_20-19-18-17.csv: no training rows left after the study's filters`,
    );
  }
  await requireImages("ISIC training set", labels.train, layout);
  // The study gave the validation rows instrument 0 as a placeholder; here it reads unknown.
  const valRecords = labels.val.map((r) => ({ ...r, instrument: -1 }));
  const val = valRecords.length ? recordSet("val", valRecords, o, norm) : undefined;
  if (val) await requireImages("ISIC 2018 validation split", labels.val, layout);

  let tests: EvalSet[];
  if (o.tune) {
    if (!val) throw new Error("--tune: the training CSV has no 2018 rows for the validation split");
    tests = [val];
  } else if (o.heidTestMarked || o.heidTestRulers) {
    tests = await heidelbergTests(o, norm);
  } else {
    tests = [];
    for (const [name, set] of EXTERNAL_TEST_SETS) {
      const file = `${o.csvDir}/${TEST_SETS[set].csv}`;
      await requireCsv(file, layout);
      const csv = await readCsvFile(file);
      const records = buildTestLabels(set, csv, paths, file).map((r) => ({
        ...r,
        marked: csv.columns.includes("marked") ? r.marked : -1,
        scale: -1,
        instrument: -1,
      }));
      await requireImages(`test set ${name}`, records, layout);
      tests.push(recordSet(name, records, o, norm));
    }
  }
  const train = recordSet("train", labels.train, o, norm);
  const folds = Int32Array.from(labels.train, (r) => r.fold);
  const marked = labels.train.filter((r) => r.marked === 1).length;
  const rulers = labels.train.filter((r) => r.scale === 1).length;
  return {
    train: train.dataset,
    trainImageNames: train.imageNames,
    val,
    tests,
    folds,
    augment: studyAugment(o),
    description:
      `ISIC ${o.imageSize} px: ${labels.train.length} training images (${marked} marked, ` +
      `${rulers} with rulers${o.skew ? ", skewed" : ""}${
        o.instrument ? ", 8 instrument groups" : ""
      }), ` +
      `${labels.val.length} validation (2018), test sets ${tests.map((t) => t.name).join(", ")}`,
  };
}
