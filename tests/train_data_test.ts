import assert from "node:assert/strict";
import { Image } from "imagescript";
import { ArrayDataset, FileDataset } from "../data/dataset.ts";
import { DataLoader } from "../data/loader.ts";
import { subsetDataset } from "../data/subset.ts";
import { buildTrainData, loaderAugmentation } from "../experiments/train-data.ts";
import { synthCorrelatedArtefacts } from "../experiments/train-data-synth.ts";
import { type TrainOptions, trainSchema } from "../experiments/train-options.ts";
import { saveWeights } from "../nn/checkpoint.ts";
import {
  buildTrunk,
  resolveTrunkName,
  STUDY_ARCHS,
  TRUNKS,
  UnknownTrunkError,
} from "../nn/models/registry.ts";
import { loadTrunkWeights, mapTrunkState } from "../nn/models/trunk-weights.ts";
import { manualSeed } from "../nn/random.ts";
import { tensor } from "../nn/tensor.ts";
import { MissingDataError } from "../experiments/train-data-files.ts";
import { cpu } from "./support/backends.ts";
import { makeIsicMiniature } from "./support/isic-miniature.ts";

const options = (o: Record<string, unknown>): TrainOptions =>
  trainSchema.parse({ testNo: "t", ...o });

const tinySynth = {
  dataset: "synth",
  imageSize: 16,
  synthTrainSize: 24,
  synthTestSize: 8,
  arch: "synth-cnn",
};

Deno.test("train data synth: sets, bias columns, names and the tests the flags select", async () => {
  const d = await buildTrainData(options({ ...tinySynth, marked: true }));
  assert.equal(d.train.length, 24);
  assert.deepEqual(d.train.sampleShape, [3, 16, 16]);
  assert.deepEqual(Object.keys(d.train.bias).sort(), ["instrument", "marked", "scale"]);
  assert.equal(d.trainImageNames.length, 24);
  assert.equal(new Set(d.trainImageNames).size, 24);
  assert.deepEqual(d.tests.map((t) => t.name), ["plain", "marked", "rulers", "instrument"]);
  for (const t of d.tests) {
    assert.equal(t.dataset.length, 8);
    assert.equal(t.imageNames.length, 8);
  }
  assert.equal(d.val?.name, "val");
  assert.equal(d.val?.dataset.length, 8);
  assert.equal(d.augment, "none");
  const perFold = [0, 1, 2, 3, 4].map((f) => d.folds!.filter((v) => v === f).length);
  assert.deepEqual(perFold, [5, 5, 5, 5, 4]);
  // The marked test set is the plain lesions with a marking: same targets, marked column all 1.
  const [plain, marked] = d.tests;
  assert.deepEqual(plain.dataset.target, marked.dataset.target);
  assert.ok(marked.dataset.bias.marked.every((v) => v === 1));
  assert.ok(plain.dataset.bias.marked.every((v) => v === 0));
  assert.match(d.description, /marked correlated 0\.9/);

  const heid = await buildTrainData(options({ ...tinySynth, heidTestRulers: true }));
  assert.deepEqual(heid.tests.map((t) => t.name), ["plain", "rulers"]);
  const tune = await buildTrainData(options({ ...tinySynth, tune: true }));
  assert.deepEqual(tune.tests.map((t) => t.name), ["val"]);
});

Deno.test("train data synth: the chosen artefact is the correlated one, all three when none", () => {
  const none = { marked: false, rulers: false, instrument: false };
  const pick = (o: Partial<typeof none & { heidTestMarked: boolean; heidTestRulers: boolean }>) =>
    synthCorrelatedArtefacts({ ...none, heidTestMarked: false, heidTestRulers: false, ...o });
  assert.deepEqual(pick({ marked: true }), { marked: true, scale: false, instrument: false });
  assert.deepEqual(pick({ heidTestRulers: true }), {
    marked: false,
    scale: true,
    instrument: false,
  });
  assert.deepEqual(pick({ instrument: true, rulers: true }), {
    marked: false,
    scale: true,
    instrument: true,
  });
  assert.deepEqual(pick({}), { marked: true, scale: true, instrument: true });
});

Deno.test("train data synth: the correlation shows in the training set, not the test sets", async () => {
  const d = await buildTrainData(
    options({ ...tinySynth, synthTrainSize: 400, rulers: true, synthCorrelation: 0.9 }),
  );
  const agree = (col: Int32Array, target: Float32Array) =>
    col.reduce((n, v, i) => n + (v === target[i] ? 1 : 0), 0) / col.length;
  // P(ruler == malignant) = 0.95 at correlation 0.9 with balanced classes.
  assert.ok(agree(d.train.bias.scale, d.train.target) > 0.9);
  // Markings are uncorrelated: agreement near one half.
  assert.ok(Math.abs(agree(d.train.bias.marked, d.train.target) - 0.5) < 0.1);
});

Deno.test("loaderAugmentation: study flips only the marked samples", () => {
  const n = 12;
  const images = Float32Array.from({ length: n * 3 * 2 * 2 }, (_, i) => i);
  const marked = Int32Array.from({ length: n }, (_, i) => (i < 6 ? 1 : 0));
  const train = new ArrayDataset({
    images,
    shape: [n, 3, 2, 2],
    target: new Float32Array(n),
    bias: { marked },
  });
  assert.deepEqual(loaderAugmentation({ augment: "none", train }), { augment: "none" });
  const study = loaderAugmentation({ augment: "study", train });
  assert.equal(study.flipSamples, marked);
  const masked = new DataLoader(train, { batchSize: 4, seed: 3, ...study });
  const all = new DataLoader(train, { batchSize: 4, seed: 3, augment: "flips" });
  let flippedMarked = 0;
  for (let e = 0; e < 4; e++) {
    const a = masked.plan(e);
    const b = all.plan(e);
    assert.deepEqual(a.order, b.order);
    for (let k = 0; k < n; k++) {
      const i = a.order[k];
      assert.equal(a.flags[k], marked[i] ? b.flags[k] : 0, `epoch ${e} sample ${i}`);
      if (marked[i] && a.flags[k]) flippedMarked++;
    }
  }
  assert.ok(flippedMarked > 0);
  assert.throws(
    () => new DataLoader(train, { batchSize: 4, augment: "flips", flipSamples: [1, 0] }),
    /flipSamples has 2 entries, dataset 12/,
  );
  const noMarked = new ArrayDataset({ images, shape: [n, 3, 2, 2], target: new Float32Array(n) });
  assert.throws(
    () => loaderAugmentation({ augment: "study", train: noMarked }),
    /no marked column/,
  );
});

Deno.test("subsetDataset: in-memory and file datasets keep order, labels and repeats", () => {
  const n = 5;
  const images = Float32Array.from({ length: n * 3 }, (_, i) => i);
  const ds = new ArrayDataset({
    images,
    shape: [n, 3, 1, 1],
    target: Float32Array.from([0, 1, 0, 1, 1]),
    bias: { marked: Int32Array.from([5, 6, 7, 8, 9]) },
  });
  const sub = subsetDataset(ds, [4, 1, 1]);
  assert.equal(sub.length, 3);
  assert.deepEqual([...sub.target], [1, 1, 1]);
  assert.deepEqual([...sub.bias.marked], [9, 6, 6]);
  const out = new Float32Array(3);
  sub.readSample!(0, out, 0);
  assert.deepEqual([...out], [12, 13, 14]);
  assert.throws(() => subsetDataset(ds, [5]), /index 5 out of range for 5 samples/);
  const rows = ["a", "b", "c"].map((f, i) => ({
    filepath: `${f}.jpg`,
    target: i % 2,
    bias: { marked: i },
  }));
  const files = subsetDataset(new FileDataset(rows, 8), [2, 0]);
  assert.ok(files instanceof FileDataset);
  assert.deepEqual(files.rows.map((r) => r.filepath), ["c.jpg", "a.jpg"]);
  assert.deepEqual([...files.bias.marked], [2, 0]);
  assert.deepEqual(files.sampleShape, [3, 8, 8]);
});

Deno.test("trunk registry: the study's --arch words, registry names, and errors listing what exists", () => {
  assert.equal(resolveTrunkName("resnext101"), "resnext101_32x8d");
  assert.equal(resolveTrunkName("resnet101"), "resnet101");
  assert.equal(resolveTrunkName("resnet18"), "resnet18");
  assert.equal(resolveTrunkName("synth-cnn"), "synth-cnn");
  const names = TRUNKS.map((t) => t.name);
  for (
    const n of [
      "resnet18",
      "resnet34",
      "resnet50",
      "resnet101",
      "resnext50_32x4d",
      "resnext101_32x8d",
      "synth-cnn",
    ]
  ) assert.ok(names.includes(n), n);
  const listed = new RegExp(`trunks that can be built now: ${names.join(", ")}`);
  assert.equal(resolveTrunkName("enet", "efficientnet_b3"), "efficientnet_b3");
  assert.equal(resolveTrunkName("densenet"), "densenet161");
  assert.equal(resolveTrunkName("inception"), "inception_v3");
  assert.throws(() => resolveTrunkName("vgg16"), (e: Error) => {
    assert.ok(e instanceof UnknownTrunkError);
    assert.match(e.message, listed);
    return true;
  });
  assert.throws(
    () => resolveTrunkName("enet", "efficientnet_b9"),
    /efficientnet_b0 \.\. efficientnet_b7/,
  );
  assert.throws(() => resolveTrunkName("vgg16"), /--arch vgg16: unknown trunk; trunks that can be/);
  assert.deepEqual(Object.keys(STUDY_ARCHS).sort(), [
    "densenet",
    "inception",
    "resnet101",
    "resnext101",
  ]);
});

Deno.test("trunk registry: built encoders map NCHW images to [N, D] features", async () => {
  manualSeed(1);
  for (const [arch, d] of [["synth-cnn", 64], ["resnet18", 512]] as const) {
    const trunk = buildTrunk(arch, undefined, { backend: cpu });
    assert.equal(trunk.features, d);
    const x = tensor(new Float32Array(2 * 3 * 16 * 16).fill(0.5), [2, 3, 16, 16], { backend: cpu });
    trunk.encoder.eval();
    const f = trunk.encoder.forward(x);
    assert.deepEqual(f.shape, [2, d]);
    assert.equal((await f.data()).length, 2 * d);
    f.dispose();
    x.dispose();
    trunk.encoder.dispose();
  }
  const wide = buildTrunk("synth-cnn", undefined, { backend: cpu, width: 4 });
  assert.equal(wide.features, 16);
  wide.encoder.dispose();
});

Deno.test("trunk weights: --weights loads a state dict strictly, dropping the classifier", async () => {
  manualSeed(2);
  const a = buildTrunk("synth-cnn", undefined, { backend: cpu, width: 2 });
  const b = buildTrunk("synth-cnn", undefined, { backend: cpu, width: 2 });
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/trunk.safetensors`;
    await saveWeights(path, a.encoder);
    await loadTrunkWeights(b, path);
    const [sa, sb] = [await a.encoder.stateDictHost(), await b.encoder.stateDictHost()];
    for (const [k, t] of sa) assert.deepEqual(sb.get(k)!.data, t.data, k);
    const other = buildTrunk("synth-cnn", undefined, { backend: cpu, width: 3 });
    await assert.rejects(
      () => loadTrunkWeights(other, path),
      /--weights .*trunk\.safetensors: not a synth-cnn state dict \(.*size mismatch/,
    );
    other.encoder.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
    a.encoder.dispose();
    b.encoder.dispose();
  }
  const t = (name: string) =>
    [name, {
      dtype: "f32" as const,
      shape: [1],
      data: new Float32Array(1),
      fileDtype: "F32" as const,
    }] as const;
  const mapped = mapTrunkState(new Map([t("conv1.weight"), t("fc.weight"), t("fc.bias")]), {
    prefix: "",
    dropped: ["fc.weight", "fc.bias"],
  });
  assert.deepEqual([...mapped.keys()], ["conv1.weight"]);
  const prefixed = mapTrunkState(new Map([t("model.conv1.weight")]), {
    prefix: "model.",
    dropped: [],
  });
  assert.deepEqual([...prefixed.keys()], ["conv1.weight"]);
});

const mini = await (async () => {
  const root = await Deno.makeTempDir({ prefix: "isic-mini-" });
  return await makeIsicMiniature(root, 16);
})();
globalThis.addEventListener("unload", () => Deno.removeSync(mini.root, { recursive: true }));

const isic = (o: Record<string, unknown> = {}) =>
  options({
    dataset: "ISIC",
    arch: "resnet18",
    csvDir: mini.csvDir,
    imageDir: mini.imageDir,
    imageSize: 16,
    ...o,
  });

Deno.test("train data ISIC: the study's label logic on the miniature layout", async () => {
  const d = await buildTrainData(isic());
  // 30 rows of 2020 + 8 of 2017 + the odd-size 2020 row; 2019, tfrecord -1 and the MClass overlap go.
  assert.equal(d.train.length, 39);
  assert.equal(d.trainImageNames.length, 39);
  assert.ok(!d.trainImageNames.includes(mini.mclassOverlap));
  assert.ok(d.trainImageNames.includes(mini.oddSize));
  assert.ok(d.train instanceof FileDataset);
  assert.deepEqual(Object.keys(d.train.bias).sort(), ["instrument", "marked", "scale"]);
  assert.deepEqual(d.tests.map((t) => [t.name, t.dataset.length]), [
    ["atlas_dermoscopic", 4],
    ["atlas_clinical", 4],
    ["asan", 4],
    ["mclass_dermoscopic", 4],
    ["mclass_clinical", 4],
  ]);
  assert.equal(d.val?.dataset.length, 2); // ceil(0.33 x 6) of the 2018 rows
  assert.equal(d.folds?.length, 39);
  assert.ok([...d.folds!].every((f) => f >= 0 && f <= 4));
  assert.equal(d.augment, "none");
  // Outside the eight study sizes, an image has no instrument class.
  const odd = d.trainImageNames.indexOf(mini.oddSize);
  assert.equal(d.train.bias.instrument[odd], -1);
  assert.match(d.description, /ISIC 16 px: 39 training images/);
  // Labels the study never annotated read unknown, not its placeholders.
  assert.ok(d.val!.dataset.bias.instrument.every((v) => v === -1));
  for (const t of d.tests) {
    for (const col of ["marked", "scale", "instrument"]) {
      assert.ok(t.dataset.bias[col].every((v) => v === -1), `${t.name} ${col}`);
    }
  }
});

Deno.test("train data ISIC: --instrument keeps the eight sizes, --skew duplicates, --tune, Heidelberg", async () => {
  const inst = await buildTrainData(isic({ instrument: true }));
  assert.equal(inst.train.length, 38);
  const classes = new Set(inst.train.bias.instrument);
  assert.deepEqual([...classes].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);

  const plain = await buildTrainData(isic({ marked: true }));
  const skew = await buildTrainData(isic({ marked: true, skew: true, duplicationsM: 2 }));
  const malignantMarked = (d: typeof plain) =>
    d.train.bias.marked.filter((m, i) => m === 1 && d.train.target[i] === 1).length;
  const benignMarked = (d: typeof plain) =>
    d.train.bias.marked.filter((m, i) => m === 1 && d.train.target[i] === 0).length;
  assert.equal(benignMarked(skew), 0);
  assert.equal(malignantMarked(skew), 3 * malignantMarked(plain));
  assert.equal(skew.augment, "study");
  assert.equal(skew.folds?.length, skew.train.length);

  const tune = await buildTrainData(isic({ tune: true }));
  assert.deepEqual(tune.tests.map((t) => t.name), ["val"]);

  const heid = await buildTrainData(
    isic({ heidTestMarked: true }),
  );
  assert.deepEqual(heid.tests.map((t) => t.name), ["plain", "marked"]);
  assert.ok(heid.tests[1].dataset.bias.marked.every((m) => m === 1));
  assert.ok(heid.tests[0].dataset.bias.marked.every((m) => m === 0));
  assert.ok(heid.tests[0].dataset.bias.instrument.every((m) => m === -1));
  const rulers = await buildTrainData(
    isic({ heidTestRulers: true, heidelbergDir: mini.heidelbergDir }),
  );
  assert.deepEqual(rulers.tests.map((t) => t.name), ["plain", "rulers"]);
  assert.ok(rulers.tests[1].dataset.bias.scale.every((m) => m === 1));
  assert.ok((rulers.tests[1].dataset as FileDataset).rows[0].filepath.includes("/Rulers/"));
});

Deno.test("train data ISIC: CSV -> labels -> loader gives decoded, labelled batches", async () => {
  const d = await buildTrainData(isic({ marked: true, skew: true, duplicationsM: 1 }));
  const loader = new DataLoader(d.train, {
    batchSize: 8,
    seed: 0,
    ...loaderAugmentation(d),
    numWorkers: 0,
  });
  try {
    let seen = 0;
    for await (const b of loader.epoch(0)) {
      assert.deepEqual(b.shape.slice(1), [3, 16, 16]);
      for (let k = 0; k < b.shape[0]; k++) {
        const i = b.indices[k];
        assert.equal(b.target[k], d.train.target[i]);
        assert.equal(b.bias.marked[k], d.train.bias.marked[i]);
        // Malignant lesions are drawn darker red: the centre pixel's red channel tells them apart.
        const centre = k * 3 * 256 + 8 * 16 + 8;
        assert.equal(b.images[centre] < 0.9, d.train.target[i] === 1, `sample ${i}`);
      }
      seen += b.shape[0];
    }
    assert.equal(seen, d.train.length);
  } finally {
    loader.close();
  }
});

Deno.test("train data ISIC: a missing CSV or image names the file and the download", async () => {
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => buildTrainData(isic({ csvDir: empty })),
      (e: Error) => {
        assert.ok(e instanceof MissingDataError);
        assert.match(e.message, /missing CSV .*isic_train_20-19-18-17\.csv/);
        assert.match(e.message, /`deno task download --only isic20 --image-size 16 --dir .*`/);
        return true;
      },
    );
    const gone = `${mini.imageDir}/asan_16/asan_2.jpg`;
    const bytes = await Deno.readFile(gone);
    await Deno.remove(gone);
    try {
      await assert.rejects(
        () => buildTrainData(isic()),
        /test set asan: 1 of 4 images missing \(.*asan_2\.jpg\); run `deno task download --only asan --image-size 16/,
      );
    } finally {
      await Deno.writeFile(gone, bytes);
    }
    await assert.rejects(
      () => buildTrainData(isic({ heidTestMarked: true, heidelbergDir: empty })),
      /Heidelberg plain set .*: 4 of 4 images missing .* must hold Markings\/ .*--only heidelberg/,
    );
    await assert.rejects(
      () => buildTrainData(isic({ heidTestRulers: true, heidelbergDir: `${empty}/none` })),
      /--heid-test_rulers: the Heidelberg folder .*none does not exist; prepare it with/,
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("train data Fitzpatrick17k: neoplastic rows, skin-type column and groups, undownloaded images left out", async () => {
  const root = await Deno.makeTempDir();
  try {
    const csvDir = `${root}/csv`;
    const folder = `${root}/images/fitzpatrick17k_16`;
    await Deno.mkdir(csvDir, { recursive: true });
    await Deno.mkdir(folder, { recursive: true });
    const partitions = ["benign", "malignant", "non-neoplastic"];
    const lines = [
      "md5hash,fitzpatrick_scale,fitzpatrick_centaur,label,nine_partition_label," +
      "three_partition_label,qc,url,url_alphanum",
    ];
    const jpeg = await new Image(4, 4).fill(0x808080ff).encodeJPEG(80);
    for (let i = 0; i < 60; i++) {
      const hash = (0xabc000 + i).toString(16);
      const type = i % 7 === 6 ? -1 : (i % 7) + 1;
      lines.push(
        `${hash},${type},${type},"melanoma, nos",x,${partitions[i % 3]},,http://x/${i},x`,
      );
      if (i !== 3 && i !== 4) await Deno.writeFile(`${folder}/${hash}.jpg`, jpeg);
    }
    await Deno.writeTextFile(`${csvDir}/fitzpatrick17k.csv`, lines.join("\n") + "\n");
    const o = options({
      dataset: "Fitzpatrick17k",
      arch: "resnet18",
      csvDir,
      imageDir: `${root}/images`,
      imageSize: 16,
    });
    const d = await buildTrainData(o);
    // 40 benign/malignant rows; rows 3 and 4 (benign, malignant) were not downloaded.
    const total = d.train.length + (d.val?.dataset.length ?? 0) + d.tests[0].dataset.length;
    assert.equal(total, 38);
    assert.equal(d.tests[0].name, "test");
    assert.equal(d.tests[0].dataset.length, Math.ceil(0.2 * 38));
    assert.deepEqual(Object.keys(d.train.bias), ["skin_type"]);
    assert.ok([...d.train.bias.skin_type].every((t) => t >= -1 && t <= 5));
    assert.ok(d.tests.slice(1).every((t) => /^skin_[135]-[246]$/.test(t.name)));
    const grouped = d.tests.slice(1).reduce((n, t) => n + t.dataset.length, 0);
    const known = [...d.tests[0].dataset.bias.skin_type].filter((t) => t >= 0).length;
    assert.equal(grouped, known);
    assert.equal(d.folds?.length, d.train.length);
    assert.match(d.description, /2 listed images not downloaded, left out/);
    // Another seed, another split; the same seed, the same one.
    const again = await buildTrainData(o);
    assert.deepEqual(again.tests[0].imageNames, d.tests[0].imageNames);
    const other = await buildTrainData({ ...o, seed: 5 });
    assert.notDeepEqual(other.tests[0].imageNames, d.tests[0].imageNames);

    await Deno.remove(folder, { recursive: true });
    await assert.rejects(
      () => buildTrainData(o),
      /none of the 40 benign\/malignant images .* run `deno task download --only fitzpatrick17k --image-size 16/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
