/**
 * Every dataset the study used: where it comes from, how many images to
 * expect, where it lands (`data/images/<folder>_<size>`) and under what terms.
 *
 * Sources are tried in order; the first that works wins. The catalog is plain
 * data so that tests (and users with mirrors) can pass their own to
 * `runDownload({ catalog })`.
 *
 * What the hosts publish to check a download against: figshare (ASAN) gives each file's size
 * and MD5 through its API, which the download asks for and checks; Google Drive, Kaggle and
 * skinclass.de (MClass) publish no checksum, only a Content-Length, which the transfer is held
 * to. Every archive is also checked against its own CRC-32s, and the sha256 of every file is
 * recorded on first download (data/download-lock.ts), so later changes are caught.
 */

import { TRAIN_COLUMNS } from "./labels.ts";

/** An archive fetched over plain HTTP(S). */
export interface HttpSource {
  kind: "http";
  url: string;
  /** File name under data/raw_images/. */
  archive: string;
  /** Folder inside the archive that holds the images (matched at any depth). */
  imageRoot?: string;
  sha256?: string;
  size?: number;
  /**
   * A figshare file: its size and MD5 are asked of figshare's public API before the download
   * (`GET api.figshare.com/v2/articles/<article>/files/<file>`) and checked after it.
   */
  figshare?: { article: number; file: number };
}

/** An archive on Google Drive (large files need the confirmation-page flow). */
export interface GoogleDriveSource {
  kind: "gdrive";
  id: string;
  archive: string;
  imageRoot?: string;
  sha256?: string;
  size?: number;
}

/** A Kaggle dataset; needs KAGGLE_USERNAME/KAGGLE_KEY or ~/.kaggle/kaggle.json. */
export interface KaggleSource {
  kind: "kaggle";
  /** "owner/slug". */
  dataset: string;
  archive: string;
  imageRoot?: string;
}

/** An archive the user must fetch by hand (an account is required). */
export interface ManualSource {
  kind: "manual";
  archive: string;
  imageRoot?: string;
  /** Where to get it, shown when it is missing. */
  instructions: string;
}

/** A CSV listing one URL per image. */
export interface UrlListSource {
  kind: "url-list";
  csvUrl: string;
  /** File name under data/csv/. */
  csvFile: string;
  urlColumn: string;
  /** Column whose value (plus `extension`) names the image file. */
  nameColumn: string;
  extension: string;
}

/** Private data the user already has in a folder of their own. */
export interface LocalFolderSource {
  kind: "local-folder";
  /** Environment variable that may point at the folder. */
  envVar: string;
  /** What the folder must contain, shown when it is not set. */
  layout: string;
}

export type DatasetSource =
  | HttpSource
  | GoogleDriveSource
  | KaggleSource
  | ManualSource
  | UrlListSource
  | LocalFolderSource;

/** One dataset of the catalog. */
export interface DatasetEntry {
  /** Name used with `--only`. */
  name: string;
  title: string;
  /** Images go to data/images/<folder>_<imageSize>/. */
  folder: string;
  expectedImages: number;
  licence: string;
  /** Annotation CSVs (file names in data/csv/) this dataset's labels need. */
  csvs: string[];
  sources: DatasetSource[];
  /** Keep only file names (the study's layout) rather than sub-folders. */
  flatten: boolean;
}

/**
 * An annotation CSV: mirrors tried in order, the columns it must have and, where the study's
 * file is known, its data rows, size and sha256 (so a download cut short, even one served
 * without a Content-Length, is refused rather than kept with its last row padded).
 */
export interface AnnotationCsv {
  file: string;
  urls: string[];
  columns: readonly string[];
  /** Data rows (lines after the header). */
  rows?: number;
  size?: number;
  sha256?: string;
}

const STUDY_REPO = "pbevan1/Skin-Deep-Unlearning";

/** Raw-file URLs of the study's data/csv folder; the second serves Git LFS content. */
export function studyCsvUrls(file: string): string[] {
  return [
    `https://raw.githubusercontent.com/${STUDY_REPO}/HEAD/data/csv/${file}`,
    `https://media.githubusercontent.com/media/${STUDY_REPO}/HEAD/data/csv/${file}`,
  ];
}

const csv = (
  file: string,
  columns: readonly string[],
  known?: { rows: number; size: number; sha256: string },
): AnnotationCsv => ({ file, urls: studyCsvUrls(file), columns, ...known });

/**
 * The study's annotation CSVs (instrument proxy, marked, scale, folds, test labels). Rows, sizes
 * and sha256 are those of the files in the study's repository (pbevan1/Skin-Deep-Unlearning at
 * 855765e, data/csv); the training CSV was too large for the copy of that repository these
 * numbers come from, so only its columns are checked (and its sha256 is locked on first
 * download).
 */
export const ANNOTATION_CSVS: readonly AnnotationCsv[] = [
  csv("isic_train_20-19-18-17.csv", TRAIN_COLUMNS),
  csv("atlas_processed.csv", ["derm", "clinic", "target"], {
    rows: 1011,
    size: 146139,
    sha256: "cb3b2d5eeeb5e6dcef6e884160148e7d3c61fdb0c7bfc21a20968041808ad1c1",
  }),
  csv("asan.csv", ["image_name", "target"], {
    rows: 852,
    size: 21277,
    sha256: "ee4552ef504148f99f0966138bdfae3e012a0501044229d50e4dad9935d00aca",
  }),
  csv("MClassD.csv", ["image_name", "target"], {
    rows: 100,
    size: 1918,
    sha256: "d9654ee4bb9e86e8cb4de961b9281a3f0a8d85e614a03a803b2bb94e50855b25",
  }),
  csv("MClassC.csv", ["image_name", "target"], {
    rows: 100,
    size: 1386,
    sha256: "1c3d611e02fe48ecc518afeb39ffeb8cd163c721d70ce3c72618d5997d830821",
  }),
  csv("holger_blank.csv", ["image_name", "target"], {
    rows: 130,
    size: 3929,
    sha256: "dac9c826a7be738b9954632f894b62a59cafd778a527db1219f56f13fd806849",
  }),
  csv("holger_marked.csv", ["image_name", "target"], {
    rows: 130,
    size: 3929,
    sha256: "2be738d1007c94a2b636095c5589dbd9a257046d97538563ec469dceaa719c31",
  }),
  csv("holger_rulers.csv", ["image_name", "target"], {
    rows: 130,
    size: 3929,
    sha256: "5788bd1d9d1fb8b84a9051fd62c6e260a2ee27733fa3dc70eda869ed53a16a07",
  }),
];

const ISIC_LICENCE = "ISIC Archive challenge data, CC BY-NC 4.0 (attribute the ISIC challenge); " +
  "256 px JPEGs as resized by C. Deotte (Kaggle)";

/** The study's datasets. */
export const CATALOG: readonly DatasetEntry[] = [
  {
    name: "isic20",
    title: "ISIC 2020 training set (256 px)",
    folder: "isic_20_train",
    expectedImages: 33126,
    licence: ISIC_LICENCE,
    csvs: ["isic_train_20-19-18-17.csv", "MClassD.csv"],
    sources: [
      {
        kind: "gdrive",
        id: "1BUoRe_0AABhlTOZdu_JONSuCzTgXqem6",
        archive: "isic_20_train_256.zip",
        imageRoot: "isic_20_train_256",
      },
      {
        kind: "kaggle",
        dataset: "cdeotte/jpeg-melanoma-256x256",
        archive: "jpeg-melanoma-256x256.zip",
        imageRoot: "train",
      },
    ],
    flatten: true,
  },
  {
    name: "isic19",
    title: "ISIC 2019/2018/2017 training set (256 px, one archive)",
    folder: "isic_19_train",
    expectedImages: 25331,
    licence: ISIC_LICENCE,
    csvs: ["isic_train_20-19-18-17.csv", "MClassD.csv"],
    sources: [
      {
        kind: "gdrive",
        id: "1fUqSJs_IO1MlmkS6MAp80IGQBZf7gggP",
        archive: "isic_19_train_256.zip",
        imageRoot: "isic_19_train_256",
      },
      {
        kind: "kaggle",
        dataset: "cdeotte/jpeg-isic2019-256x256",
        archive: "jpeg-isic2019-256x256.zip",
        imageRoot: "train",
      },
    ],
    flatten: true,
  },
  {
    name: "atlas",
    title: "Interactive Atlas of Dermoscopy (dermoscopic + clinical)",
    folder: "atlas",
    // 1,011 cases, each with a dermoscopic and a clinical image: 2,013 distinct files.
    expectedImages: 2013,
    licence: "Interactive Atlas of Dermoscopy (Argenziano et al.) via SFU's derm7pt release; " +
      "research use under the terms accepted with the account; do not redistribute",
    csvs: ["atlas_processed.csv"],
    sources: [{
      kind: "manual",
      archive: "release_v0.zip",
      imageRoot: "release_v0/images",
      instructions: "create a free account at https://derm.cs.sfu.ca (Download page), " +
        "download release_v0.zip",
    }],
    flatten: true,
  },
  {
    name: "asan",
    title: "ASAN test set (Han et al. 2018)",
    folder: "asan",
    expectedImages: 852,
    licence: "published by Han et al. (2018) on figshare (item 5406223); see the item's terms",
    csvs: ["asan.csv"],
    sources: [{
      kind: "http",
      url: "https://ndownloader.figshare.com/files/9328573",
      archive: "ASAN_raw.zip",
      imageRoot: "test-asan test",
      figshare: { article: 5406223, file: 9328573 },
    }],
    flatten: true,
  },
  {
    name: "mclassd",
    title: "MClass dermoscopic benchmark (Brinker et al. 2019)",
    folder: "MClassD",
    expectedImages: 100,
    licence: "MClass benchmark (skinclass.de), research benchmarking; images from the ISIC " +
      "Archive (CC BY-NC)",
    csvs: ["MClassD.csv"],
    sources: [{
      kind: "http",
      url: "https://skinclass.de/MClass/MClass-D.zip",
      archive: "MClassD_raw.zip",
      imageRoot: "BenchmarkDermoscopic",
    }],
    flatten: true,
  },
  {
    name: "mclassc",
    title: "MClass clinical benchmark (Brinker et al. 2019)",
    folder: "MClassC",
    expectedImages: 100,
    licence: "MClass benchmark (skinclass.de), research benchmarking only",
    csvs: ["MClassC.csv"],
    sources: [{
      kind: "http",
      url: "https://skinclass.de/MClass/MClass-ND",
      archive: "MClassC_raw.zip",
      imageRoot: "BenchmarkClinical",
    }],
    flatten: true,
  },
  {
    name: "fitzpatrick17k",
    title: "Fitzpatrick17k (Groh et al. 2021), images fetched from their source atlases",
    folder: "fitzpatrick17k",
    expectedImages: 16577,
    licence: "annotations CC BY-NC-SA 3.0 (Groh et al.); images belong to the source atlases " +
      "(DermaAmin, Atlas Dermatologico), research use only; some URLs may have gone",
    csvs: [],
    sources: [{
      kind: "url-list",
      csvUrl: "https://raw.githubusercontent.com/mattgroh/fitzpatrick17k/HEAD/fitzpatrick17k.csv",
      csvFile: "fitzpatrick17k.csv",
      urlColumn: "url",
      nameColumn: "md5hash",
      extension: ".jpg",
    }],
    flatten: true,
  },
  {
    name: "heidelberg",
    title: "Heidelberg plain / marked / ruler test sets (Winkler et al. 2019, 2021)",
    folder: "hh_test",
    // 130 plain + 130 marked images under Markings/, 130 ruler images under Rulers/.
    expectedImages: 390,
    licence: "private; available only from the authors of Winkler et al. on request",
    csvs: ["holger_blank.csv", "holger_marked.csv", "holger_rulers.csv"],
    sources: [{
      kind: "local-folder",
      envVar: "HEIDELBERG_DIR",
      layout: "a folder with Markings/ (plain and marked images) and Rulers/ (ruler images), " +
        "file names as in holger_*.csv",
    }],
    flatten: false,
  },
];

/** Where a dataset's preprocessed images live: `<dataDir>/images/<folder>_<imageSize>`. */
export function imageFolder(entry: DatasetEntry, imageSize: number, dataDir = "./data"): string {
  return `${dataDir.replace(/\/+$/, "")}/images/${entry.folder}_${imageSize}`;
}

/**
 * The entries named in `only` (case-insensitive), or all of them. An unknown
 * name is an error that lists the known ones.
 */
export function selectDatasets(
  catalog: readonly DatasetEntry[],
  only?: readonly string[],
): DatasetEntry[] {
  if (!only || only.length === 0) return [...catalog];
  const wanted = only.flatMap((o) => o.split(",")).map((o) => o.trim().toLowerCase())
    .filter((o) => o !== "");
  const unknown = wanted.filter((w) => !catalog.some((e) => e.name.toLowerCase() === w));
  if (unknown.length > 0) {
    throw new Error(
      `unknown dataset(s) ${unknown.map((u) => `"${u}"`).join(", ")}; ` +
        `known: ${catalog.map((e) => e.name).join(", ")}`,
    );
  }
  return catalog.filter((e) => wanted.includes(e.name.toLowerCase()));
}
