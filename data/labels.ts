/**
 * The study's label logic on its annotation CSVs, returning plain records so
 * real and synthetic data look alike downstream.
 *
 * Training rows come from `isic_train_20-19-18-17.csv` (columns image_name,
 * target, tfrecord, year, size, marked, scale; benign_malignant and mclassd
 * when present). The steps and their order follow the study's data code:
 * skew marked, skew rulers, drop MClass overlap, drop 2019-competition rows,
 * drop tfrecord -1, assign folds, take the 2018 rows out as the validation
 * split, then (with `instrument`) keep the eight most populated image sizes.
 */
import { type CsvRow, type CsvRows, numberCell, readCsvFile, requireColumns } from "./csv.ts";
import { dropRepeatedImages, imagePathInside } from "./label-checks.ts";

/** One labelled image. Bias columns are 0/1 (instrument 0..7); -1 means "not assigned". */
export interface LabelRecord {
  imageName: string;
  target: number;
  marked: number;
  scale: number;
  instrument: number;
  fold: number;
  filepath: string;
  /** Competition year for training rows; 0 for test sets. */
  year: number;
}

/** Columns the training CSV must have. */
export const TRAIN_COLUMNS = [
  "image_name",
  "target",
  "tfrecord",
  "year",
  "size",
  "marked",
  "scale",
] as const;

/**
 * The study's map from the 15 ISIC 2020 tfrecords to 5 CV folds (three
 * tfrecords per fold, taken from its code: fold 0 = {2,4,5}, 1 = {1,10,13},
 * 2 = {0,9,12}, 3 = {3,8,11}, 4 = {6,7,14}). Other years use tfrecord % 5.
 */
export const TFRECORD_TO_FOLD_2020: Readonly<Record<number, number>> = {
  2: 0,
  4: 0,
  5: 0,
  1: 1,
  10: 1,
  13: 1,
  0: 2,
  9: 2,
  12: 2,
  3: 3,
  8: 3,
  11: 3,
  6: 4,
  7: 4,
  14: 4,
};

export interface TrainingLabelOptions {
  /** Root of the image folders (the study's --image-dir), e.g. "./data/images". */
  imageDir: string;
  imageSize: number;
  /** Seeds the 2018 validation split. */
  seed: number;
  marked?: boolean;
  rulers?: boolean;
  instrument?: boolean;
  skew?: boolean;
  /** Copies of each malignant marked image added under skew (study: 20). */
  duplicationsM?: number;
  /** Copies of each malignant ruler image added under skew (study: 18). */
  duplicationsR?: number;
  /** Image names (with or without extension) that also appear in MClass, removed from training. */
  mclassNames?: Iterable<string>;
  /** Instrument size groups to use instead of the eight most populated ones. */
  instrumentSizes?: string[];
  /** Fraction of 2018 rows that form the validation split (study: 0.33). */
  valFraction?: number;
  /** Hears of images the CSV lists more than once with the same labels (default console.warn). */
  warn?: (message: string) => void;
}

export interface TrainingLabels {
  train: LabelRecord[];
  /** The 2018 validation split (for --tune); instrument is a 0 placeholder as in the study. */
  val: LabelRecord[];
  /** Size groups in instrument-index order (index = instrument class). */
  instrumentSizes: string[];
}

interface Row {
  /** 1-based data row of the CSV, for messages. */
  row: number;
  name: string;
  target: number;
  benign: boolean;
  tfrecord: number;
  year: number;
  size: string;
  marked: number;
  scale: number;
  mclassd: number;
}

function stripExtension(name: string): string {
  return name.replace(/\.(jpe?g|png)$/i, "");
}

function binary(row: CsvRow, col: string, file: string, i: number, fallback?: number): number {
  const v = numberCell(row, col, file, i, fallback);
  if (v !== 0 && v !== 1) {
    throw new Error(`${file}, row ${i + 1}: column "${col}" must be 0 or 1, got "${row[col]}"`);
  }
  return v;
}

function parseTrainRows(
  rows: CsvRows,
  file: string,
  warn: (message: string) => void,
): Row[] {
  requireColumns(rows, TRAIN_COLUMNS, file);
  const hasBM = rows.columns.includes("benign_malignant");
  const hasMclass = rows.columns.includes("mclassd");
  const parsed = rows.map((r, i): Row => {
    const target = binary(r, "target", file, i);
    return {
      row: i + 1,
      name: r.image_name,
      target,
      // The study removes rows whose benign_malignant is "benign"; target 0 when absent.
      benign: hasBM ? r.benign_malignant === "benign" : target === 0,
      // An empty tfrecord (pandas NaN) survives the -1 filter but gets no fold.
      tfrecord: numberCell(r, "tfrecord", file, i, NaN),
      year: numberCell(r, "year", file, i),
      size: r.size,
      // Empty marked/scale (NaN in pandas) never equals 1 there: treated as 0.
      marked: binary(r, "marked", file, i, 0),
      scale: binary(r, "scale", file, i, 0),
      mclassd: hasMclass ? numberCell(r, "mclassd", file, i, 0) : 0,
    };
  });
  return dropRepeatedImages(
    parsed.map((r, i) => ({
      key: r.name,
      labels: `target ${r.target}, benign ${r.benign}, marked ${r.marked}, scale ${r.scale}`,
      raw: rows.columns.map((c) => rows[i][c]).join(","),
      value: r,
    })),
    file,
    warn,
    "keep",
  );
}

/** Removes benign rows with the artefact, then prepends `copies` copies of the remaining ones. */
function skewBy(rows: Row[], key: "marked" | "scale", copies: number): Row[] {
  const removed = new Set(rows.filter((r) => r[key] === 1 && r.benign).map((r) => r.name));
  const kept = rows.filter((r) => !removed.has(r.name));
  const artefact = kept.filter((r) => r[key] === 1);
  const out: Row[] = [];
  for (let c = 0; c < copies; c++) out.push(...artefact);
  return out.concat(kept);
}

function foldOf(row: Row, file: string): number {
  if (row.year === 2018 || !Number.isFinite(row.tfrecord)) return -1;
  if (row.year === 2020) {
    const fold = TFRECORD_TO_FOLD_2020[row.tfrecord];
    if (fold === undefined) {
      throw new Error(`${file}: image ${row.name} (2020) has tfrecord ${row.tfrecord}, not 0..14`);
    }
    return fold;
  }
  return ((row.tfrecord % 5) + 5) % 5;
}

/** mulberry32: small, seedable, identical on every platform. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Picks `count` of `n` indices at random, deterministic for a seed. Like
 * sklearn's train_test_split the test part has ceil(fraction x n) rows, but
 * the draw itself is our own generator, not numpy's.
 */
export function seededSample(n: number, fraction: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, Math.ceil(fraction * n));
}

/**
 * The eight most populated size groups (by distinct image), sorted the way
 * the study's Python sorted them: as strings, so "640x640" comes after
 * "6000x6000". Ties in count break by name, for determinism.
 */
export function topSizeGroups(rows: { name: string; size: string }[], k = 8): string[] {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    counts.set(r.size, (counts.get(r.size) ?? 0) + 1);
  }
  const byCount = [...counts.entries()].sort((a, b) =>
    b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  );
  return byCount.slice(0, k).map(([s]) => s).sort();
}

function trainPath(row: Row, o: TrainingLabelOptions, file: string): string {
  const folder = row.year === 2020 ? "isic_20_train" : "isic_19_train";
  return imagePathInside(
    `${o.imageDir}/${folder}_${o.imageSize}`,
    `${row.name}.jpg`,
    `${file}, row ${row.row}`,
  );
}

/** Applies the study's training-label pipeline to parsed CSV rows (see the module doc). */
export function buildTrainingLabels(
  csv: CsvRows,
  options: TrainingLabelOptions,
  fileName = "isic_train_20-19-18-17.csv",
): TrainingLabels {
  let rows = parseTrainRows(csv, fileName, options.warn ?? console.warn);
  if (options.marked && options.skew) rows = skewBy(rows, "marked", options.duplicationsM ?? 20);
  if (options.rulers && options.skew) rows = skewBy(rows, "scale", options.duplicationsR ?? 18);
  const mclass = new Set([...(options.mclassNames ?? [])].map(stripExtension));
  rows = rows.filter((r) => r.mclassd !== 1 && !mclass.has(stripExtension(r.name)));
  rows = rows.filter((r) => r.year !== 2019 && r.tfrecord !== -1);

  const toRecord = (r: Row, instrument: number): LabelRecord => ({
    imageName: r.name,
    target: r.target,
    marked: r.marked,
    scale: r.scale,
    instrument,
    fold: foldOf(r, fileName),
    filepath: trainPath(r, options, fileName),
    year: r.year,
  });

  const rows2018 = rows.filter((r) => r.year === 2018);
  const val = seededSample(rows2018.length, options.valFraction ?? 0.33, options.seed)
    .map((i) => toRecord(rows2018[i], 0));
  let train = rows.filter((r) => r.year !== 2018);

  const sizes = options.instrumentSizes
    ? [...options.instrumentSizes].sort()
    : topSizeGroups(train);
  const sizeIndex = new Map(sizes.map((s, i) => [s, i]));
  if (options.instrument) train = train.filter((r) => sizeIndex.has(r.size));
  return {
    train: train.map((r) => toRecord(r, sizeIndex.get(r.size) ?? -1)),
    val,
    instrumentSizes: sizes,
  };
}

/** Where the CSVs and images are, for the loaders below. */
export interface LabelPaths {
  csvDir: string;
  imageDir: string;
  imageSize: number;
}

/** Reads the training CSV (and MClassD.csv for the overlap) and builds the labels. */
export async function loadTrainingLabels(
  paths: LabelPaths,
  options: Omit<TrainingLabelOptions, "imageDir" | "imageSize">,
): Promise<TrainingLabels> {
  const file = `${paths.csvDir}/isic_train_20-19-18-17.csv`;
  const csv = await readCsvFile(file);
  let mclassNames = options.mclassNames;
  if (!mclassNames) {
    const mclass = await readCsvFile(`${paths.csvDir}/MClassD.csv`);
    requireColumns(mclass, ["image_name"], `${paths.csvDir}/MClassD.csv`);
    mclassNames = mclass.map((r) => r.image_name);
  }
  return buildTrainingLabels(
    csv,
    { ...options, mclassNames, imageDir: paths.imageDir, imageSize: paths.imageSize },
    file,
  );
}

/** The study's test sets, by the names the toolkit uses. */
export const TEST_SETS = {
  atlas_derm: { csv: "atlas_processed.csv", column: "derm", folder: "atlas", sub: "" },
  atlas_clinic: { csv: "atlas_processed.csv", column: "clinic", folder: "atlas", sub: "" },
  asan: { csv: "asan.csv", column: "image_name", folder: "asan", sub: "" },
  mclass_derm: { csv: "MClassD.csv", column: "image_name", folder: "MClassD", sub: "" },
  mclass_clinic: { csv: "MClassC.csv", column: "image_name", folder: "MClassC", sub: "" },
  heid_plain: {
    csv: "holger_blank.csv",
    column: "image_name",
    folder: "hh_test",
    sub: "Markings/",
  },
  heid_marked: {
    csv: "holger_marked.csv",
    column: "image_name",
    folder: "hh_test",
    sub: "Markings/",
  },
  heid_rulers: {
    csv: "holger_rulers.csv",
    column: "image_name",
    folder: "hh_test",
    sub: "Rulers/",
  },
} as const;

export type TestSetName = keyof typeof TEST_SETS;

/**
 * Builds test records from a parsed test CSV (see {@linkcode readTestLabels}). An image name
 * that leaves its folder, or an image listed with two different labels, is an error naming the
 * CSV and the rows; an image listed twice with the same labels is kept once (and `warn` hears
 * of it), so no image counts twice in the metrics.
 */
export function buildTestLabels(
  name: TestSetName,
  csv: CsvRows,
  paths: Omit<LabelPaths, "csvDir">,
  fileName: string = TEST_SETS[name].csv,
  warn: (message: string) => void = console.warn,
): LabelRecord[] {
  const spec = TEST_SETS[name];
  requireColumns(csv, [spec.column, "target"], fileName);
  const hasMarked = csv.columns.includes("marked");
  const folder = `${paths.imageDir}/${spec.folder}_${paths.imageSize}`;
  const records = csv.map((r, i): LabelRecord => ({
    imageName: r[spec.column],
    target: binary(r, "target", fileName, i),
    // The Heidelberg marked / ruler sets are defined by their artefact.
    marked: name === "heid_marked" ? 1 : hasMarked ? binary(r, "marked", fileName, i, 0) : 0,
    scale: name === "heid_rulers" ? 1 : 0,
    instrument: 0,
    fold: -1,
    filepath: imagePathInside(
      folder,
      `${spec.sub}${r[spec.column]}`,
      `${fileName}, row ${i + 1} (column "${spec.column}")`,
    ),
    year: 0,
  }));
  return dropRepeatedImages(
    records.map((r, i) => ({
      key: r.imageName,
      labels: `target ${r.target}, marked ${r.marked}`,
      raw: csv.columns.map((c) => csv[i][c]).join(","),
      value: r,
    })),
    fileName,
    warn,
  );
}

/** Reads one test set's labels: Atlas derm/clinic, ASAN, MClass D/C, Heidelberg plain/marked/rulers. */
export async function readTestLabels(name: TestSetName, paths: LabelPaths): Promise<LabelRecord[]> {
  const file = `${paths.csvDir}/${TEST_SETS[name].csv}`;
  return buildTestLabels(name, await readCsvFile(file), paths, file);
}

/** The loader's row shape ({filepath, target, bias}) with the chosen bias columns. */
export function toDatasetRows(
  records: readonly LabelRecord[],
  biasNames: readonly ("marked" | "scale" | "instrument")[],
): { filepath: string; target: number; bias: Record<string, number> }[] {
  return records.map((r) => ({
    filepath: r.filepath,
    target: r.target,
    bias: Object.fromEntries(biasNames.map((b) => [b, r[b]])),
  }));
}
