import assert from "node:assert/strict";
import { parseCsv } from "../data/csv.ts";
import {
  buildTestLabels,
  buildTrainingLabels,
  type LabelRecord,
  loadTrainingLabels,
  readTestLabels,
  seededSample,
  TFRECORD_TO_FOLD_2020,
  toDatasetRows,
  topSizeGroups,
} from "../data/labels.ts";

// A hand-made training CSV in the real schema. Hand counts used below:
// - 35 rows: A01-A17 (2020), B01-B08 + ISIC_0000003 (2017), C01-C02 (2019), D01-D07 (2018).
// - MClass overlap drops ISIC_0000003; 2019 drops C01, C02; tfrecord -1 drops A17 and D07.
// - The 2018 pool is D01-D06 (6 rows): validation = ceil(0.33 * 6) = 2 rows.
// - Training = A01-A16 + B01-B08 = 24 rows.
// - Distinct sizes in training: 6000x6000 x5 (A01-A05), 640x640 x4 (A06-A09),
//   1872x1872 x3 (A10-A12), 1024x1024 x3 (B01-B03), 5184 x2, 3264 x2, 4288 x2, 2592 x2,
//   999x999 x1 (B08): the eight most populated exclude 999x999.
const TRAIN_CSV = `image_name,benign_malignant,target,tfrecord,year,size,marked,scale
A01,benign,0,2,2020,6000x6000,0.0,0.0
A02,benign,0,4,2020,6000x6000,1.0,0.0
A03,malignant,1,5,2020,6000x6000,1.0,0.0
A04,benign,0,1,2020,6000x6000,0.0,1.0
A05,malignant,1,10,2020,6000x6000,0.0,1.0
A06,benign,0,13,2020,640x640,0.0,0.0
A07,benign,0,0,2020,640x640,0.0,0.0
A08,benign,0,9,2020,640x640,0.0,0.0
A09,benign,0,12,2020,640x640,0.0,0.0
A10,benign,0,3,2020,1872x1872,0.0,0.0
A11,benign,0,8,2020,1872x1872,0.0,0.0
A12,malignant,1,11,2020,1872x1872,0.0,0.0
A13,benign,0,6,2020,5184x5184,0.0,0.0
A14,benign,0,7,2020,5184x5184,0.0,0.0
A15,benign,0,14,2020,3264x3264,0.0,0.0
A16,benign,0,2,2020,3264x3264,0.0,0.0
A17,benign,0,-1,2020,6000x6000,0.0,0.0
B01,benign,0,0,2017,1024x1024,0.0,0.0
B02,benign,0,8,2017,1024x1024,0.0,0.0
B03,malignant,1,22,2017,1024x1024,0.0,0.0
B04,benign,0,4,2017,4288x4288,0.0,0.0
B05,benign,0,16,2017,4288x4288,0.0,0.0
B06,benign,0,26,2017,2592x2592,0.0,0.0
B07,benign,0,28,2017,2592x2592,0.0,0.0
B08,benign,0,6,2017,999x999,0.0,0.0
ISIC_0000003,benign,0,10,2017,1024x1024,0.0,0.0
C01,benign,0,0,2019,1024x1024,0.0,0.0
C02,malignant,1,-1,2019,1024x1024,0.0,0.0
D01,benign,0,0,2018,600x450,0.0,0.0
D02,benign,0,1,2018,600x450,0.0,0.0
D03,malignant,1,2,2018,600x450,0.0,0.0
D04,benign,0,3,2018,600x450,0.0,0.0
D05,benign,0,4,2018,600x450,0.0,0.0
D06,benign,0,5,2018,600x450,1.0,0.0
D07,benign,0,-1,2018,600x450,0.0,0.0
`;

const base = { imageDir: "imgs", imageSize: 64, seed: 0, mclassNames: ["ISIC_0000003.jpg"] };
const csv = () => parseCsv(TRAIN_CSV, "train.csv");
const count = (records: LabelRecord[], name: string) =>
  records.filter((r) => r.imageName === name).length;

Deno.test("training labels: drops, folds, file paths and the 2018 validation split", () => {
  const { train, val } = buildTrainingLabels(csv(), base);
  assert.equal(train.length, 24);
  assert.equal(val.length, 2);
  for (const gone of ["ISIC_0000003", "C01", "C02", "A17", "D07"]) {
    assert.equal(count(train, gone) + count(val, gone), 0, gone);
  }
  assert.ok(val.every((r) => r.year === 2018 && r.instrument === 0 && r.fold === -1));
  assert.ok(train.every((r) => r.year !== 2018));
  // Folds by hand: 2020 via the study's map, 2017 via tfrecord % 5.
  const fold = (n: string) => train.find((r) => r.imageName === n)!.fold;
  assert.deepEqual(
    ["A01", "A04", "A07", "A10", "A13", "B01", "B02", "B03", "B05", "B08"].map(fold),
    [0, 1, 2, 3, 4, 0, 3, 2, 1, 1],
  );
  const perFold = [0, 1, 2, 3, 4].map((f) => train.filter((r) => r.fold === f).length);
  assert.deepEqual(perFold, [5, 6, 4, 5, 4]);
  assert.equal(train.find((r) => r.imageName === "A01")!.filepath, "imgs/isic_20_train_64/A01.jpg");
  assert.equal(train.find((r) => r.imageName === "B01")!.filepath, "imgs/isic_19_train_64/B01.jpg");
  assert.equal(train.filter((r) => r.target === 1).length, 4); // A03, A05, A12, B03
});

Deno.test("the study's 2020 tfrecord map covers tfrecords 0..14, three per fold", () => {
  const keys = Object.keys(TFRECORD_TO_FOLD_2020).map(Number).sort((a, b) => a - b);
  assert.deepEqual(keys, Array.from({ length: 15 }, (_, i) => i));
  const perFold = [0, 1, 2, 3, 4].map((f) =>
    Object.values(TFRECORD_TO_FOLD_2020).filter((v) => v === f).length
  );
  assert.deepEqual(perFold, [3, 3, 3, 3, 3]);
});

Deno.test("instrument: eight most populated sizes, sorted as strings, others dropped", () => {
  const { train, instrumentSizes } = buildTrainingLabels(csv(), { ...base, instrument: true });
  assert.deepEqual(instrumentSizes, [
    "1024x1024",
    "1872x1872",
    "2592x2592",
    "3264x3264",
    "4288x4288",
    "5184x5184",
    "6000x6000",
    "640x640",
  ]);
  assert.equal(train.length, 23); // B08 (999x999) dropped
  const inst = (n: string) => train.find((r) => r.imageName === n)!.instrument;
  assert.equal(inst("B01"), 0);
  assert.equal(inst("A01"), 6);
  assert.equal(inst("A06"), 7);
  // Without --instrument the row stays, marked as outside the eight groups.
  const all = buildTrainingLabels(csv(), base).train;
  assert.equal(all.find((r) => r.imageName === "B08")!.instrument, -1);
  // Duplicated rows do not change which groups are most populated.
  assert.deepEqual(
    topSizeGroups(
      [{ name: "x", size: "b" }, { name: "x", size: "b" }, { name: "y", size: "a" }],
      1,
    ),
    ["a"],
  );
});

Deno.test("skew: benign marked/ruler rows removed, malignant ones copied 20 / 18 times", () => {
  // Marked: A02 (benign) removed, A03 gets 20 extra copies: 24 - 1 + 20 = 43.
  const m = buildTrainingLabels(csv(), { ...base, marked: true, skew: true }).train;
  assert.equal(m.length, 43);
  assert.equal(count(m, "A02"), 0);
  assert.equal(count(m, "A03"), 21);
  assert.equal(m.filter((r) => r.marked === 1).length, 21);
  // Rulers: A04 removed, A05 gets 18 copies: 24 - 1 + 18 = 41.
  const r = buildTrainingLabels(csv(), { ...base, rulers: true, skew: true }).train;
  assert.equal(r.length, 41);
  assert.equal(count(r, "A04"), 0);
  assert.equal(count(r, "A05"), 19);
  // Both, with configurable copies: 24 - 1 + 3 (marked) - 1 + 2 (rulers) = 27.
  const both = buildTrainingLabels(csv(), {
    ...base,
    marked: true,
    rulers: true,
    skew: true,
    duplicationsM: 3,
    duplicationsR: 2,
  }).train;
  assert.equal(both.length, 27);
  // --marked without --skew changes nothing.
  assert.equal(buildTrainingLabels(csv(), { ...base, marked: true }).train.length, 24);
});

Deno.test("validation split is seeded and deterministic; mclassd column is honoured", () => {
  const names = (seed: number) =>
    buildTrainingLabels(csv(), { ...base, seed }).val.map((r) => r.imageName).join();
  assert.equal(names(3), names(3));
  const distinct = new Set(Array.from({ length: 10 }, (_, s) => names(s)));
  assert.ok(distinct.size >= 2, "different seeds should give different splits");
  assert.equal(seededSample(100, 0.33, 1).length, 33);
  assert.equal(new Set(seededSample(100, 0.33, 1)).size, 33);
  // An mclassd column marks overlap too: A16 flagged, so 24 - 1 = 23.
  // Every row gets the column (a short row is refused as a truncated file); empty is pandas' NaN.
  const withCol =
    TRAIN_CSV.trimEnd().split("\n").map((line, i) =>
      i === 0 ? `${line},mclassd` : line.startsWith("A16,") ? `${line},1` : `${line},`
    ).join("\n") + "\n";
  const t = buildTrainingLabels(parseCsv(withCol, "m.csv"), base).train;
  assert.equal(t.length, 23);
});

Deno.test("training CSV errors name the file, row, column and value", () => {
  assert.throws(
    () =>
      buildTrainingLabels(
        parseCsv("image_name,target,tfrecord,year,marked,scale\n", "x.csv"),
        base,
        "x.csv",
      ),
    /x\.csv: missing required column "size"/,
  );
  const badTarget = TRAIN_CSV.replace("A01,benign,0,", "A01,benign,2,");
  assert.throws(
    () => buildTrainingLabels(parseCsv(badTarget, "t.csv"), base, "t.csv"),
    /t\.csv, row 1: column "target" must be 0 or 1, got "2"/,
  );
  const badRecord = TRAIN_CSV.replace("A01,benign,0,2,", "A01,benign,0,15,");
  assert.throws(
    () => buildTrainingLabels(parseCsv(badRecord, "t.csv"), base, "t.csv"),
    /image A01 \(2020\) has tfrecord 15/,
  );
});

Deno.test("test-set readers: paths per dataset and size, artefact labels", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/atlas_processed.csv`,
      "Unnamed: 0,case_num,diagnosis,clinic,derm,notes,target,marked\n" +
        '0,1,BCC,NEL025.JPG,Nel026.jpg,"a, note",0,0\n1,2,MEL,Mel1.jpg,Mel2.jpg,,1,0\n',
    );
    await Deno.writeTextFile(
      `${dir}/asan.csv`,
      "image_name,diagnosis,target,marked\nak.JPG,AK,0,1\n",
    );
    await Deno.writeTextFile(
      `${dir}/MClassC.csv`,
      "image_name,target\n1.jpg,1\n2.jpg,0\n3.jpg,0\n",
    );
    await Deno.writeTextFile(
      `${dir}/holger_rulers.csv`,
      "image_name,benign_malignant,target,diagnosis\nIMG_1b.jpg,malignant,1,melanoma\n",
    );
    const paths = { csvDir: dir, imageDir: "img", imageSize: 128 };
    const derm = await readTestLabels("atlas_derm", paths);
    const clinic = await readTestLabels("atlas_clinic", paths);
    assert.deepEqual(derm.map((r) => r.filepath), [
      "img/atlas_128/Nel026.jpg",
      "img/atlas_128/Mel2.jpg",
    ]);
    assert.deepEqual(clinic.map((r) => r.imageName), ["NEL025.JPG", "Mel1.jpg"]);
    assert.deepEqual(derm.map((r) => r.target), [0, 1]);
    const asan = await readTestLabels("asan", paths);
    assert.equal(asan[0].marked, 1);
    assert.equal(asan[0].filepath, "img/asan_128/ak.JPG");
    const mc = await readTestLabels("mclass_clinic", paths);
    assert.equal(mc.length, 3);
    assert.equal(mc.filter((r) => r.target === 1).length, 1);
    assert.equal(mc[0].filepath, "img/MClassC_128/1.jpg");
    const rulers = await readTestLabels("heid_rulers", paths);
    assert.equal(rulers[0].filepath, "img/hh_test_128/Rulers/IMG_1b.jpg");
    assert.equal(rulers[0].scale, 1);
    const marked = buildTestLabels(
      "heid_marked",
      parseCsv("image_name,target\nIMG_1b.jpg,1\n"),
      paths,
    );
    assert.equal(marked[0].filepath, "img/hh_test_128/Markings/IMG_1b.jpg");
    assert.equal(marked[0].marked, 1);
    await assert.rejects(() => readTestLabels("mclass_derm", paths), /MClassD\.csv/);
    // Records convert to the loader's row shape.
    assert.deepEqual(toDatasetRows(asan, ["marked", "scale"])[0], {
      filepath: "img/asan_128/ak.JPG",
      target: 0,
      bias: { marked: 1, scale: 0 },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTrainingLabels reads the CSV and MClassD.csv from the csv folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/isic_train_20-19-18-17.csv`, TRAIN_CSV);
    await Deno.writeTextFile(`${dir}/MClassD.csv`, "image_name,target\nISIC_0000003.jpg,0\n");
    const got = await loadTrainingLabels(
      { csvDir: dir, imageDir: "i", imageSize: 32 },
      { seed: 0 },
    );
    assert.equal(got.train.length, 24);
    assert.equal(got.train[0].filepath, "i/isic_20_train_32/A01.jpg");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
