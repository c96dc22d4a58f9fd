import assert from "node:assert/strict";
import { Image } from "imagescript";
import { DataLoader } from "../data/loader.ts";
import { loadMnist } from "../data/mnist.ts";
import {
  COLORED_MNIST_MEANS,
  coloredMnistDataset,
  coloredMnistImages,
  colourBin,
  colourMnist,
} from "../data/synthetic/colored-mnist.ts";
import { imageGridPng } from "../data/synthetic/preview.ts";
import {
  correlationProbabilities,
  makeSkinTestSet,
  makeSkinTestSets,
  makeSkinTrainSet,
  renderSkinSample,
  skinDataset,
} from "../data/synthetic/skin-artefacts.ts";

function conditional(bias: Int32Array, labels: Int32Array, pred: (b: number) => boolean) {
  let m = 0, mHit = 0, b = 0, bHit = 0;
  labels.forEach((l, i) => {
    if (l === 1) {
      m++;
      if (pred(bias[i])) mHit++;
    } else {
      b++;
      if (pred(bias[i])) bHit++;
    }
  });
  return { malignant: mHit / m, benign: bHit / b, nMalignant: m, nBenign: b };
}

Deno.test("skin: a seed fixes every image; another seed changes them", () => {
  const a = makeSkinTrainSet({ n: 12, seed: 4, size: 32 });
  const b = makeSkinTrainSet({ n: 12, seed: 4, size: 32 });
  const c = makeSkinTrainSet({ n: 12, seed: 5, size: 32 });
  assert.deepEqual(a.images, b.images);
  assert.deepEqual(a.bias.instrument, b.bias.instrument);
  let same = 0;
  for (let i = 0; i < a.images.length; i++) if (a.images[i] === c.images[i]) same++;
  assert.ok(same < a.images.length * 0.01, `${same} equal values across seeds`);
  // Sample i does not depend on how many samples are generated.
  const longer = makeSkinTrainSet({ n: 20, seed: 4, size: 32 });
  assert.deepEqual(longer.images.subarray(0, a.images.length), a.images);
  // Normalised with ImageNet statistics: values leave [0,1].
  assert.ok(a.images.some((v) => v < 0) && a.images.some((v) => v > 1));
  assert.deepEqual(a.shape, [12, 3, 32, 32]);
});

Deno.test("skin: training correlations match the requested strength on 5,000 samples", () => {
  const set = makeSkinTrainSet({
    n: 5000,
    seed: 11,
    size: 16,
    correlation: { marked: 0.6, scale: { malignant: 0.3, benign: 0.05 }, instrument: 0.9 },
  });
  const mk = conditional(set.bias.marked, set.labels, (b) => b === 1);
  assert.ok(Math.abs(mk.malignant - 0.8) < 0.03, `P(marked|malignant) = ${mk.malignant}`);
  assert.ok(Math.abs(mk.benign - 0.2) < 0.03, `P(marked|benign) = ${mk.benign}`);
  const sc = conditional(set.bias.scale, set.labels, (b) => b === 1);
  assert.ok(Math.abs(sc.malignant - 0.3) < 0.03, `P(ruler|malignant) = ${sc.malignant}`);
  assert.ok(Math.abs(sc.benign - 0.05) < 0.03, `P(ruler|benign) = ${sc.benign}`);
  const ins = conditional(set.bias.instrument, set.labels, (b) => b >= 4);
  assert.ok(Math.abs(ins.malignant - 0.95) < 0.03, `P(style 4-7|malignant) = ${ins.malignant}`);
  assert.ok(Math.abs(ins.benign - 0.05) < 0.03, `P(style 4-7|benign) = ${ins.benign}`);
  assert.ok(Math.abs(mk.nMalignant / 5000 - 0.5) < 0.03, `malignant share ${mk.nMalignant}`);
  assert.equal(new Set(set.bias.instrument).size, 8);
  assert.throws(() => correlationProbabilities(1.5), /not a probability/);
});

for (const style of [0, 5, 7]) {
  Deno.test(`skin: plain/marked/ruler sets share lesions; only artefact pixels differ (style ${style})`, () => {
    const n = 12, size = 48, seed = 2;
    const sets = makeSkinTestSets({ n, seed, size, instrument: style });
    assert.deepEqual(sets.plain.labels, sets.marked.labels);
    assert.deepEqual(sets.plain.labels, sets.rulers.labels);
    assert.deepEqual([...sets.marked.bias.marked], new Array(n).fill(1));
    assert.deepEqual([...sets.rulers.bias.scale], new Array(n).fill(1));
    assert.deepEqual([...sets.plain.bias.instrument], new Array(n).fill(style));
    assert.deepEqual(
      [...sets.plain.bias.marked, ...sets.plain.bias.scale],
      new Array(2 * n).fill(0),
    );
    const plane = size * size;
    for (
      const [name, set, recipe] of [
        ["marked", sets.marked, { marked: true, ruler: false }],
        ["rulers", sets.rulers, { marked: false, ruler: true }],
      ] as const
    ) {
      for (let i = 0; i < n; i++) {
        const r = { split: "test", index: i, instrument: style, ...recipe };
        const { mask } = renderSkinSample(seed, r, size);
        let inside = 0, differ = 0, outside = 0;
        for (let p = 0; p < plane; p++) {
          let diff = false;
          for (let c = 0; c < 3; c++) {
            const o = (i * 3 + c) * plane + p;
            if (sets.plain.images[o] !== set.images[o]) diff = true;
          }
          if (mask[p]) {
            inside++;
            if (diff) differ++;
          } else {
            outside++;
            assert.ok(!diff, `${name} ${i}: pixel ${p} outside the artefact differs from plain`);
          }
        }
        assert.ok(inside > 10 && outside > plane / 2, `${name} ${i}: artefact covers ${inside} px`);
        assert.ok(
          differ / inside > 0.9,
          `${name} ${i}: ${differ}/${inside} artefact pixels differ`,
        );
      }
    }
  });
}

Deno.test("skin: instrument-shift set is independent of the label, or reversed", () => {
  const indep = makeSkinTestSet("instrument", { n: 3000, seed: 8, size: 16 });
  const c = conditional(indep.bias.instrument, indep.labels, (b) => b >= 4);
  assert.ok(
    Math.abs(c.malignant - 0.5) < 0.04 && Math.abs(c.benign - 0.5) < 0.04,
    JSON.stringify(c),
  );
  const rev = makeSkinTestSet("instrument", {
    n: 3000,
    seed: 8,
    size: 16,
    instrumentShift: "reversed",
    trainInstrumentCorrelation: 0.8,
  });
  const r = conditional(rev.bias.instrument, rev.labels, (b) => b >= 4);
  assert.ok(
    Math.abs(r.malignant - 0.1) < 0.03 && Math.abs(r.benign - 0.9) < 0.03,
    JSON.stringify(r),
  );
  assert.deepEqual(rev.labels, indep.labels);
});

Deno.test("skin: sets feed the loader with bias labels marked/scale/instrument", async () => {
  const ds = skinDataset(makeSkinTrainSet({ n: 10, seed: 1, size: 16 }));
  const loader = new DataLoader(ds, { batchSize: 4, augment: "flips" });
  const names: string[][] = [];
  for await (const b of loader) names.push(Object.keys(b.bias).sort());
  loader.close();
  assert.equal(names.length, 3);
  assert.deepEqual(names[0], ["instrument", "marked", "scale"]);
});

Deno.test("skin: preview grid encodes a PNG of the right size", async () => {
  const sets = makeSkinTestSets({ n: 4, seed: 1, size: 32 });
  const png = await imageGridPng([sets.plain, sets.marked, sets.rulers, sets.instrument], {
    cols: 4,
    scale: 2,
    gap: 2,
  });
  const img = await Image.decode(png);
  assert.equal(img.width, 4 * (64 + 2) + 2);
  assert.equal(img.height, 4 * (64 + 2) + 2);
});

/** Variance of clip(m + s*Z, 0, 1) for a standard normal Z, by numerical integration. */
function clippedNormalMoments(m: number, s: number): { mean: number; variance: number } {
  let e1 = 0, e2 = 0;
  const dz = 0.001;
  for (let z = -8; z <= 8; z += dz) {
    const w = Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI) * dz;
    const y = Math.min(1, Math.max(0, m + s * z));
    e1 += w * y;
    e2 += w * y * y;
  }
  return { mean: e1, variance: e2 - e1 * e1 };
}

Deno.test("colored mnist: training colours cluster at the class means with variance sigma^2", async () => {
  const mnist = await loadMnist("train", { limit: 8000 });
  const sigma2 = 0.03;
  const set = colourMnist(mnist, { split: "train", sigma2, seed: 1 });
  assert.deepEqual(set.shape, [8000, 3, 28, 28]);
  let pooledGot = 0, pooledWant = 0;
  for (let d = 0; d < 10; d++) {
    const idx = [...set.labels.keys()].filter((i) => set.labels[i] === d);
    assert.ok(idx.every((i) => set.meanIndex[i] === d));
    for (let c = 0; c < 3; c++) {
      const v = idx.map((i) => set.colours[i * 3 + c]);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1);
      const want = clippedNormalMoments(COLORED_MNIST_MEANS[d][c], Math.sqrt(sigma2));
      assert.ok(
        Math.abs(mean - want.mean) < 0.02,
        `digit ${d} ch ${c}: mean ${mean} vs ${want.mean}`,
      );
      assert.ok(
        Math.abs(variance - want.variance) < 0.25 * want.variance,
        `digit ${d} ch ${c}: variance ${variance} vs ${want.variance}`,
      );
      pooledGot += variance;
      pooledWant += want.variance;
    }
  }
  assert.ok(Math.abs(pooledGot / pooledWant - 1) < 0.05, `pooled ratio ${pooledGot / pooledWant}`);
  // Pixels: stroke = colour * intensity, background black; bias bins from the drawn colour.
  const images = coloredMnistImages(set, 0, 1000);
  for (const i of [0, 1, 777]) {
    for (const p of [0, 150, 300, 406, 500]) {
      const inten = mnist.images[i * 784 + p] / 255;
      for (let c = 0; c < 3; c++) {
        const got = images[(i * 3 + c) * 784 + p];
        assert.ok(Math.abs(got - set.colours[i * 3 + c] * inten) < 1e-6);
      }
    }
    assert.equal(set.bias.colourR[i], colourBin(set.colours[i * 3]));
    assert.equal(set.bias.colourB[i], colourBin(set.colours[i * 3 + 2]));
  }
  const again = colourMnist(mnist, { split: "train", sigma2, seed: 1, limit: 50 });
  const other = colourMnist(mnist, { split: "train", sigma2, seed: 2, limit: 50 });
  assert.deepEqual(coloredMnistImages(again), images.subarray(0, 50 * 3 * 784));
  assert.deepEqual(again.images, images.subarray(0, 50 * 3 * 784));
  assert.notDeepEqual(again.colours, other.colours);
  // The loader expands the same pixels batch by batch.
  const loader = new DataLoader(coloredMnistDataset(again), { batchSize: 50, shuffle: false });
  for await (const b of loader) {
    assert.deepEqual(b.images, images.subarray(0, 50 * 3 * 784));
    assert.deepEqual(b.bias.colourG, again.bias.colourG);
  }
});

Deno.test("colored mnist: test colours are independent of the digit; bins and grey variant", async () => {
  const mnist = await loadMnist("test", { limit: 5000 });
  const set = colourMnist(mnist, { split: "test", sigma2: 0.02, seed: 3 });
  const agree = set.labels.filter((d, i) => set.meanIndex[i] === d).length / set.labels.length;
  assert.ok(Math.abs(agree - 0.1) < 0.02, `colour mean equals class for ${agree}`);
  const table = Array.from({ length: 10 }, () => new Array(10).fill(0));
  set.labels.forEach((d, i) => table[d][set.meanIndex[i]]++);
  // Chi-square test of independence, 81 degrees of freedom: 99.9% quantile is about 126.
  const rowT = table.map((r) => r.reduce((a, b) => a + b, 0));
  const colT = table[0].map((_, j) => table.reduce((a, r) => a + r[j], 0));
  let chi2 = 0;
  for (let d = 0; d < 10; d++) {
    for (let j = 0; j < 10; j++) {
      const e = rowT[d] * colT[j] / set.labels.length;
      chi2 += (table[d][j] - e) ** 2 / e;
    }
  }
  assert.ok(chi2 < 126, `chi2 ${chi2}`);
  assert.deepEqual([0, 1, 0.5, 0.126, 0.125, 0.999].map(colourBin), [0, 7, 3, 1, 0, 7]);
  for (let i = 0; i < set.labels.length; i++) {
    assert.equal(set.bias.colourG[i], Math.floor(Math.floor(set.colours[i * 3 + 1] * 255) / 32));
  }
  const grey = colourMnist(mnist, { split: "test", sigma2: 0.02, seed: 3, grey: true, limit: 20 });
  const greyImages = coloredMnistImages(grey);
  for (let p = 0; p < 784; p++) {
    const v = mnist.images[5 * 784 + p] / 255;
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(greyImages[(5 * 3 + c) * 784 + p] - v) < 1e-6);
  }
  assert.deepEqual(grey.colours, set.colours.subarray(0, 60));
  const ds = coloredMnistDataset(grey);
  assert.deepEqual(Object.keys(ds.bias), ["colourR", "colourG", "colourB"]);
  assert.equal(ds.length, 20);
});
