/**
 * A miniature copy of the study's data layout, generated into a folder: the annotation CSVs
 * under the study's schema (csv/) and small JPEGs where `deno task download` puts them
 * (images/<folder>_<size>/), the Heidelberg sets included (images/hh_test_<size>/Markings/ and
 * Rulers/, as the download prepares a user's copy). Rows cover every rule
 * of the label logic: 2020 / 2017 / 2018 / 2019 years, tfrecord -1, an MClass overlap, marked and
 * ruler images of both classes, the study's eight instrument sizes and one outside them.
 * Malignant images are darker and redder than benign ones, so a model can learn the task.
 */

import { Image } from "imagescript";
import { join } from "node:path";

export interface IsicMiniature {
  root: string;
  csvDir: string;
  imageDir: string;
  /** <image-dir>/hh_test_<size>, where train looks by default. */
  heidelbergDir: string;
  imageSize: number;
  /** Training-CSV rows by what the label logic should do with them. */
  rows: { year2020: number; year2017: number; year2018: number; dropped: number };
  /** The 2020 image that MClassD.csv also lists (removed from training as leakage). */
  mclassOverlap: string;
  /** The 2020 image whose size is none of the study's eight instrument sizes. */
  oddSize: string;
}

const SIZES = [
  "6000x6000",
  "1872x1872",
  "640x640",
  "5184x5184",
  "1024x1024",
  "3264x3264",
  "4288x4288",
  "2592x2592",
];

async function writeJpeg(path: string, size: number, target: number, variant: number) {
  const img = new Image(size, size);
  const px = img.bitmap;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = 4 * (y * size + x);
      const centre = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 3) ** 2;
      const shade = (variant * 37) % 40;
      px[o] = centre ? (target ? 120 : 190) + shade : 225;
      px[o + 1] = centre ? (target ? 40 : 140) + shade : 190;
      px[o + 2] = centre ? (target ? 50 : 110) : 170;
      px[o + 3] = 255;
    }
  }
  await Deno.writeFile(path, await img.encodeJPEG(90));
}

const csvText = (header: string[], rows: (string | number)[][]) =>
  [header.join(","), ...rows.map((r) => r.join(","))].join("\n") + "\n";

/** Writes the miniature under `root` for `--image-size imageSize`. */
export async function makeIsicMiniature(root: string, imageSize = 16): Promise<IsicMiniature> {
  const csvDir = join(root, "csv");
  const imageDir = join(root, "images");
  const folder = (name: string) => join(imageDir, `${name}_${imageSize}`);
  const heidelbergDir = folder("hh_test");
  for (
    const d of [
      csvDir,
      folder("isic_20_train"),
      folder("isic_19_train"),
      folder("atlas"),
      folder("asan"),
      folder("MClassD"),
      folder("MClassC"),
      join(heidelbergDir, "Markings"),
      join(heidelbergDir, "Rulers"),
    ]
  ) await Deno.mkdir(d, { recursive: true });

  const train: (string | number)[][] = [];
  const images: [string, number][] = [];
  let n = 0;
  const add = (year: number, tfrecord: number, o: { size?: string; mclassd?: number } = {}) => {
    const name = `ISIC_${String(100 + n).padStart(7, "0")}`;
    const target = n % 3 === 0 ? 1 : 0;
    const marked = n % 4 === 0 || n % 4 === 1 ? 1 : 0;
    const scale = n % 5 === 2 || n % 5 === 3 ? 1 : 0;
    const size = o.size ?? SIZES[n % SIZES.length];
    train.push([
      name,
      target,
      tfrecord,
      year,
      size,
      marked,
      scale,
      target ? "malignant" : "benign",
      o.mclassd ?? 0,
    ]);
    const dir = year === 2020 ? folder("isic_20_train") : folder("isic_19_train");
    images.push([join(dir, `${name}.jpg`), target]);
    n++;
    return name;
  };
  for (let i = 0; i < 30; i++) add(2020, i % 15);
  for (let i = 0; i < 8; i++) add(2017, i);
  for (let i = 0; i < 6; i++) add(2018, i);
  add(2019, 1);
  add(2019, 2);
  add(2020, -1);
  const mclassOverlap = add(2020, 3);
  const oddSize = add(2020, 4, { size: "800x600" });
  await Deno.writeTextFile(
    join(csvDir, "isic_train_20-19-18-17.csv"),
    csvText(
      [
        "image_name",
        "target",
        "tfrecord",
        "year",
        "size",
        "marked",
        "scale",
        "benign_malignant",
        "mclassd",
      ],
      train,
    ),
  );

  const testSet = async (csv: string, dir: string, prefix: string, count: number) => {
    const rows: [string, number][] = [];
    for (let i = 0; i < count; i++) {
      const name = `${prefix}${i}.jpg`;
      rows.push([name, i % 2]);
      images.push([join(dir, name), i % 2]);
    }
    if (csv) await Deno.writeTextFile(join(csvDir, csv), csvText(["image_name", "target"], rows));
    return rows;
  };
  await testSet("asan.csv", folder("asan"), "asan_", 4);
  const mclassD = await testSet("", folder("MClassD"), "MClassD_", 3);
  mclassD.push([`${mclassOverlap}.jpg`, 1]);
  images.push([join(folder("MClassD"), `${mclassOverlap}.jpg`), 1]);
  await Deno.writeTextFile(join(csvDir, "MClassD.csv"), csvText(["image_name", "target"], mclassD));
  await testSet("MClassC.csv", folder("MClassC"), "MClassC_", 4);
  const atlas: (string | number)[][] = [];
  for (let i = 0; i < 4; i++) {
    atlas.push([`Aal00${i}.jpg`, `Aal00${i}c.jpg`, i % 2]);
    images.push([join(folder("atlas"), `Aal00${i}.jpg`), i % 2]);
    images.push([join(folder("atlas"), `Aal00${i}c.jpg`), i % 2]);
  }
  await Deno.writeTextFile(
    join(csvDir, "atlas_processed.csv"),
    csvText(["derm", "clinic", "target"], atlas),
  );
  await testSet("holger_blank.csv", join(heidelbergDir, "Markings"), "blank_", 4);
  await testSet("holger_marked.csv", join(heidelbergDir, "Markings"), "marked_", 4);
  await testSet("holger_rulers.csv", join(heidelbergDir, "Rulers"), "rulers_", 4);

  for (const [i, [path, target]] of images.entries()) await writeJpeg(path, imageSize, target, i);
  return {
    root,
    csvDir,
    imageDir,
    heidelbergDir,
    imageSize,
    rows: { year2020: 30, year2017: 8, year2018: 6, dropped: 5 },
    mclassOverlap,
    oddSize,
  };
}
