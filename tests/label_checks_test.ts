/**
 * Label CSVs cannot point outside the image folder, and an image listed twice is neither
 * counted twice (a warning, kept once) nor given two labels (an error naming both rows).
 */

import assert from "node:assert/strict";
import { parseCsv } from "../data/csv.ts";
import { buildTestLabels, buildTrainingLabels } from "../data/labels.ts";
import { imagePathInside } from "../data/label-checks.ts";

const paths = { imageDir: "/data/images", imageSize: 256 };
const HEADER = "image_name,benign_malignant,target,tfrecord,year,size,marked,scale\n";
const train = (rows: string) => parseCsv(HEADER + rows, "train.csv");
const base = { imageDir: "/data/images", imageSize: 256, seed: 0, mclassNames: [] };

Deno.test("a test CSV name that leaves the image folder is refused, naming the CSV and row", () => {
  const csv = (name: string) => parseCsv(`image_name,target\nok.jpg,0\n${name},1\n`, "asan.csv");
  for (const evil of ["../../etc/passwd", "sub/../../x.jpg", "/etc/passwd", "C:\\boot.ini"]) {
    assert.throws(
      () => buildTestLabels("asan", csv(evil), paths, "asan.csv"),
      (err: Error) =>
        err.message.startsWith('asan.csv, row 2 (column "image_name"): image name') &&
        err.message.includes(evil) && /outside the image folder|absolute path/.test(err.message),
      evil,
    );
  }
  // The Heidelberg sub-folder does not make an escape through "..": still refused.
  const heid = parseCsv("image_name,target\n../../../secret.jpg,1\n", "holger_marked.csv");
  assert.throws(() => buildTestLabels("heid_marked", heid, paths), /outside the image folder/);
  assert.throws(() => buildTestLabels("asan", csv(""), paths, "asan.csv"), /row 2.*is empty/);
  const fine = buildTestLabels("heid_rulers", parseCsv("image_name,target\nr.jpg,1\n"), paths);
  assert.equal(fine[0].filepath, "/data/images/hh_test_256/Rulers/r.jpg");
  assert.equal(imagePathInside("/d", "a/./b.jpg", "x"), "/d/a/b.jpg");
});

Deno.test("a training image name with .. is refused", () => {
  assert.throws(
    () => buildTrainingLabels(train("../../../etc/passwd,benign,0,2,2020,6x6,0,0\n"), base),
    /isic_train_20-19-18-17\.csv, row 1: image name "\.\.\/\.\.\/\.\.\/etc\/passwd\.jpg" resolves outside/,
  );
});

Deno.test("repeated test rows count once with a warning; contradictory labels are refused", () => {
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const csv = parseCsv(
    "image_name,diagnosis,target\na.jpg,nevus,0\nb.jpg,mel,1\na.jpg,nevus,0\nb.jpg,melanoma,1\n",
    "MClassD.csv",
  );
  const records = buildTestLabels("mclass_derm", csv, paths, "MClassD.csv", warn);
  assert.deepEqual(records.map((r) => r.imageName), ["a.jpg", "b.jpg"]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /MClassD\.csv: 2 row\(s\).*row 3 repeats row 1; row 4 relists row 2/);
  const contradictory = parseCsv("image_name,target\na.jpg,0\nb.jpg,1\na.jpg,1\n", "asan.csv");
  assert.throws(
    () => buildTestLabels("asan", contradictory, paths, "asan.csv", warn),
    /asan\.csv: image a\.jpg has contradictory labels: row 1 says target 0, marked 0, row 3 says target 1/,
  );
});

Deno.test("training: targets 0 and 1 for one image are refused; an exact repeat is kept once", () => {
  assert.throws(
    () =>
      buildTrainingLabels(
        train(
          "A01,benign,0,2,2020,6x6,0,0\nA02,benign,0,4,2020,6x6,0,0\nA01,malignant,1,2,2020,6x6,0,0\n",
        ),
        { ...base, warn: () => {} },
      ),
    /image A01 has contradictory labels: row 1 says target 0, .* row 3 says target 1/,
  );
  const warnings: string[] = [];
  const labels = buildTrainingLabels(
    train(
      "A01,benign,0,2,2020,6x6,0,0\nA02,benign,0,4,2020,6x6,0,0\nA01,benign,0,2,2020,6x6,0,0\n" +
        // the same image and labels under another year: both rows stay for the year filters
        "A02,benign,0,4,2018,6x6,0,0\n",
    ),
    { ...base, warn: (m) => warnings.push(m) },
  );
  assert.deepEqual(labels.train.map((r) => r.imageName), ["A01", "A02"]);
  assert.deepEqual(labels.val.map((r) => r.imageName), ["A02"]);
  assert.match(warnings[0], /row 3 repeats row 1; row 4 relists row 2/);
  // The study's skew duplication is the intended source of repeats, and it still happens.
  const skewed = buildTrainingLabels(
    train("A01,malignant,1,2,2020,6x6,1,0\nA02,benign,0,4,2020,6x6,0,0\n"),
    { ...base, marked: true, skew: true, duplicationsM: 3, warn: () => {} },
  );
  assert.equal(skewed.train.filter((r) => r.imageName === "A01").length, 4);
});
