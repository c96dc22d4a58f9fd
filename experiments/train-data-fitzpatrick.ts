/**
 * `train --dataset Fitzpatrick17k` (Groh et al. 2021), as `deno task download --only
 * fitzpatrick17k` leaves it: data/csv/fitzpatrick17k.csv and data/images/fitzpatrick17k_<size>/
 * <md5hash>.jpg. The study named this dataset as its second training source but published no
 * code for it, so the rules here are this toolkit's, chosen to match the melanoma task:
 *
 * - rows: the neoplastic ones (three_partition_label benign or malignant); target = malignant;
 * - bias column `skin_type`: Fitzpatrick type I..VI as 0..5 (`fitzpatrick_scale`, or
 *   `fitzpatrick` in the CSV's first release), -1 unknown: no head learns it (the study had no
 *   skin-type head), but it travels with every set so the report's probe can audit it;
 * - images the download could not fetch (some source URLs have gone) are left out, with a count
 *   in the description; none at all is an error naming the download;
 * - splits, seeded by --seed: 20 % test, 10 % of the rest validation, the remainder training with
 *   five CV folds by position in the seeded order;
 * - test sets: all test images, then the same split per skin-type pair (I-II, III-IV, V-VI) where
 *   it has images, so an AUC gap between skin tones shows; --tune tests on the validation split.
 */

import { basename } from "node:path";
import { readCsvFile, requireColumns } from "../data/csv.ts";
import { type Dataset, FileDataset } from "../data/dataset.ts";
import type { Normalisation } from "../data/image-decode.ts";
import { seededSample } from "../data/labels.ts";
import {
  type EvalSet,
  type TrainData,
  type TrainDataOptions,
  trunkNormalisation,
} from "./train-data-common.ts";
import { downloadCommand, MissingDataError, requireCsv } from "./train-data-files.ts";
import { CATALOG } from "../data/catalog.ts";

/** One usable Fitzpatrick17k image. */
export interface FitzpatrickRecord {
  imageName: string;
  filepath: string;
  target: number;
  /** 0..5 for types I..VI, -1 unknown. */
  skinType: number;
}

const FITZ_CSV = "fitzpatrick17k.csv";

/** Rows of the CSV with the rules of the module doc (file existence not checked). */
export function fitzpatrickRecords(
  csv: Awaited<ReturnType<typeof readCsvFile>>,
  o: Pick<TrainDataOptions, "imageDir" | "imageSize">,
  file = FITZ_CSV,
): FitzpatrickRecord[] {
  requireColumns(csv, ["md5hash", "three_partition_label"], file);
  const typeColumn = csv.columns.includes("fitzpatrick_scale")
    ? "fitzpatrick_scale"
    : csv.columns.includes("fitzpatrick")
    ? "fitzpatrick"
    : undefined;
  if (!typeColumn) {
    throw new Error(`${file}: needs a skin-type column "fitzpatrick_scale" (or "fitzpatrick")`);
  }
  const out: FitzpatrickRecord[] = [];
  csv.forEach((row, i) => {
    const partition = row.three_partition_label?.trim().toLowerCase();
    if (partition !== "benign" && partition !== "malignant") return;
    if (!/^[0-9a-f]+$/i.test(row.md5hash ?? "")) {
      throw new Error(`${file}, row ${i + 2}: md5hash "${row.md5hash}" is not a hex digest`);
    }
    const raw = Number(row[typeColumn]);
    const skinType = Number.isInteger(raw) && raw >= 1 && raw <= 6 ? raw - 1 : -1;
    const imageName = `${row.md5hash}.jpg`;
    out.push({
      imageName,
      filepath: `${o.imageDir}/fitzpatrick17k_${o.imageSize}/${imageName}`,
      target: partition === "malignant" ? 1 : 0,
      skinType,
    });
  });
  return out;
}

function dataset(
  records: readonly FitzpatrickRecord[],
  size: number,
  norm: Normalisation,
): Dataset {
  return new FileDataset(
    records.map((r) => ({
      filepath: r.filepath,
      target: r.target,
      bias: { skin_type: r.skinType },
    })),
    size,
    norm,
  );
}

function evalSet(name: string, records: FitzpatrickRecord[], size: number, norm: Normalisation) {
  return {
    name,
    dataset: dataset(records, size, norm),
    imageNames: records.map((r) => r.imageName),
  };
}

async function presentNames(folder: string): Promise<Set<string>> {
  const names = new Set<string>();
  try {
    for await (const e of Deno.readDir(folder)) if (e.isFile) names.add(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names;
}

/** The Fitzpatrick17k data of `o` (see the module doc). */
export async function buildFitzpatrickTrainData(o: TrainDataOptions): Promise<TrainData> {
  const norm = trunkNormalisation(o);
  const layout = { imageDir: o.imageDir, imageSize: o.imageSize };
  const file = `${o.csvDir}/${FITZ_CSV}`;
  await requireCsv(file, layout);
  const all = fitzpatrickRecords(await readCsvFile(file), o, file);
  const folder = `${o.imageDir}/fitzpatrick17k_${o.imageSize}`;
  const present = await presentNames(folder);
  const records = all.filter((r) => present.has(basename(r.filepath)));
  const entry = CATALOG.filter((e) => e.name === "fitzpatrick17k");
  if (records.length === 0) {
    throw new MissingDataError(
      `Fitzpatrick17k: none of the ${all.length} benign/malignant images of ${file} is in ` +
        `${folder}; run \`${downloadCommand(entry, layout)}\``,
    );
  }
  const testIdx = new Set(seededSample(records.length, 0.2, o.seed));
  const test = records.filter((_, i) => testIdx.has(i));
  const rest = records.filter((_, i) => !testIdx.has(i));
  const valIdx = new Set(seededSample(rest.length, 0.1, o.seed + 1));
  const valRecords = rest.filter((_, i) => valIdx.has(i));
  const train = rest.filter((_, i) => !valIdx.has(i));
  const folds = new Int32Array(train.length);
  seededSample(train.length, 1, o.seed + 2).forEach((i, k) => folds[i] = k % 5);
  const val = evalSet("val", valRecords, o.imageSize, norm);
  const groups: [string, number[]][] = [["skin_1-2", [0, 1]], ["skin_3-4", [2, 3]], [
    "skin_5-6",
    [4, 5],
  ]];
  const tests: EvalSet[] = o.tune ? [val] : [
    evalSet("test", test, o.imageSize, norm),
    ...groups
      .map(([name, types]) => [name, test.filter((r) => types.includes(r.skinType))] as const)
      .filter(([, rs]) => rs.length > 0)
      .map(([name, rs]) => evalSet(name, rs, o.imageSize, norm)),
  ];
  const missing = all.length - records.length;
  return {
    train: dataset(train, o.imageSize, norm),
    trainImageNames: train.map((r) => r.imageName),
    val,
    tests,
    folds,
    augment: "none",
    description:
      `Fitzpatrick17k ${o.imageSize} px: ${train.length} training, ${valRecords.length} ` +
      `validation, ${test.length} test images (benign vs malignant)` +
      (missing ? `; ${missing} listed images not downloaded, left out` : ""),
  };
}
