import assert from "node:assert/strict";
import { Image } from "imagescript";
import { applyFlips, HFLIP, TRANSPOSE, ttaFlags, ttaVariants, VFLIP } from "../data/augment.ts";
import { type Batch, validateBatch } from "../data/batch.ts";
import { ArrayDataset, type DatasetRow, FileDataset } from "../data/dataset.ts";
import {
  decodeImage,
  IMAGENET_MEAN,
  IMAGENET_STD,
  toNormalisedCHW,
  UNIT,
} from "../data/image-decode.ts";
import { DataLoader } from "../data/loader.ts";
import { hashSeed, Rng } from "../data/rng.ts";

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function toyDataset(n: number, c = 2, s = 3): ArrayDataset {
  const per = c * s * s;
  const images = Float32Array.from({ length: n * per }, (_, i) => i);
  return new ArrayDataset({
    images,
    shape: [n, c, s, s],
    target: Float32Array.from({ length: n }, (_, i) => i % 2),
    bias: { marked: Int32Array.from({ length: n }, (_, i) => i % 3) },
  });
}

Deno.test("rng: same seed same stream, different seed different stream", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const sa = Array.from({ length: 20 }, () => a.nextUint32());
  const sb = Array.from({ length: 20 }, () => b.nextUint32());
  const sc = Array.from({ length: 20 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  assert.notEqual(hashSeed(1, "a", 2), hashSeed(1, "a", 3));
  assert.notEqual(hashSeed(1, "ab"), hashSeed(1, "ba"));
});

Deno.test("rng: normal has mean 0 and variance 1; int is uniform", () => {
  const r = new Rng(123);
  const n = 100_000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.02, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.02, `variance ${s2 / n}`);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 60_000; i++) counts[r.int(6)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 400, `counts ${counts}`);
  const p = r.permutation(50);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
});

Deno.test("augment: flips of a known 3x3 image", () => {
  const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const run = (flags: number) => {
    const out = new Float32Array(9);
    applyFlips(img, 0, out, 0, 1, 3, 3, flags);
    return [...out];
  };
  assert.deepEqual(run(0), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(run(TRANSPOSE), [1, 4, 7, 2, 5, 8, 3, 6, 9]);
  assert.deepEqual(run(VFLIP), [7, 8, 9, 4, 5, 6, 1, 2, 3]);
  assert.deepEqual(run(HFLIP), [3, 2, 1, 6, 5, 4, 9, 8, 7]);
  assert.deepEqual(run(VFLIP | HFLIP), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  // Transpose first, then the flips: hflip(transpose(x)).
  assert.deepEqual(run(TRANSPOSE | HFLIP), [7, 4, 1, 8, 5, 2, 9, 6, 3]);
  assert.deepEqual(run(TRANSPOSE | VFLIP), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  assert.throws(() => applyFlips(new Float32Array(6), 0, new Float32Array(6), 0, 1, 2, 3, 1));
});

Deno.test("augment: 8 TTA variants follow the study's order and are all distinct", () => {
  assert.deepEqual(
    Array.from({ length: 8 }, (_, i) => ttaFlags(i)),
    [0, VFLIP, HFLIP, VFLIP | HFLIP, TRANSPOSE, TRANSPOSE | VFLIP, TRANSPOSE | HFLIP, 7],
  );
  // Batch of 2 images, 2 channels each, 2x2.
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const v = ttaVariants(x, [2, 2, 2, 2]);
  assert.equal(v.length, 8);
  assert.deepEqual([...v[0]], [...x]);
  // variant 1 = torch flip(2): rows reversed in every plane.
  assert.deepEqual([...v[1].subarray(0, 4)], [2, 3, 0, 1]);
  // variant 2 = torch flip(3): columns reversed.
  assert.deepEqual([...v[2].subarray(4, 8)], [5, 4, 7, 6]);
  // variant 4 = transpose(2,3).
  assert.deepEqual([...v[4].subarray(12, 16)], [12, 14, 13, 15]);
  const keys = new Set(v.map((a) => [...a.subarray(0, 4)].join(",")));
  assert.equal(keys.size, 8);
});

Deno.test("loader: shuffling is deterministic per seed and covers every sample once", async () => {
  const ds = toyDataset(10);
  const order = async (seed: number, epoch: number) => {
    const l = new DataLoader(ds, { batchSize: 4, seed });
    const bs = await collect(l.epoch(epoch));
    l.close();
    return bs.flatMap((b) => [...b.indices]);
  };
  const a = await order(1, 0), b = await order(1, 0), c = await order(2, 0), d = await order(1, 1);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, d);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i));
  using plain = new DataLoader(ds, { batchSize: 4, shuffle: false });
  assert.deepEqual((await collect(plain.epoch(0))).flatMap((x) => [...x.indices]), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
});

Deno.test("loader: drop_last and batch contents", async () => {
  const ds = toyDataset(10);
  const keep = new DataLoader(ds, { batchSize: 4, seed: 3 });
  const drop = new DataLoader(ds, { batchSize: 4, seed: 3, dropLast: true });
  const kb = await collect(keep.epoch(0)), db = await collect(drop.epoch(0));
  assert.equal(keep.batchesPerEpoch, 3);
  assert.equal(drop.batchesPerEpoch, 2);
  assert.deepEqual(kb.map((b) => b.shape[0]), [4, 4, 2]);
  assert.deepEqual(db.map((b) => b.shape[0]), [4, 4]);
  for (const b of kb) {
    validateBatch(b);
    assert.deepEqual(b.shape.slice(1), [2, 3, 3]);
    b.indices.forEach((i, k) => {
      assert.equal(b.target[k], i % 2);
      assert.equal(b.labels[k], i % 2);
      assert.equal(b.bias.marked[k], i % 3);
      assert.equal(b.images[k * 18], i * 18);
      assert.equal(b.images[k * 18 + 17], i * 18 + 17);
    });
  }
});

Deno.test("loader: flip augmentation applies the planned flips", async () => {
  const ds = toyDataset(16, 1, 4);
  const l = new DataLoader(ds, { batchSize: 16, seed: 5, augment: "flips", shuffle: false });
  const [b] = await collect(l.epoch(2));
  const { flags } = l.plan(2);
  assert.ok(new Set(flags).size > 3, "several flip sets drawn");
  for (let k = 0; k < 16; k++) {
    const want = new Float32Array(16);
    applyFlips(ds.images, k * 16, want, 0, 1, 4, 4, flags[k]);
    assert.deepEqual([...b.images.subarray(k * 16, k * 16 + 16)], [...want]);
  }
  const again = await collect(
    new DataLoader(ds, { batchSize: 16, seed: 5, augment: "flips" }).epoch(2),
  );
  const other = await collect(
    new DataLoader(ds, { batchSize: 16, seed: 6, augment: "flips" }).epoch(2),
  );
  assert.notDeepEqual([...again[0].images], [...other[0].images]);
});

Deno.test("decode: PNG pixels normalise with ImageNet mean/std; resize keeps flat colour", async () => {
  const img = new Image(8, 6);
  img.fill(Image.rgbaToColor(200, 100, 50, 255));
  const dec = await decodeImage(await img.encode(), "flat.png");
  assert.equal(dec.width, 8);
  assert.equal(dec.height, 6);
  const out = new Float32Array(3 * 4 * 4);
  toNormalisedCHW(dec, 4, 4, { mean: IMAGENET_MEAN, std: IMAGENET_STD }, out);
  [200, 100, 50].forEach((v, c) => {
    const want = (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    for (let p = 0; p < 16; p++) assert.ok(Math.abs(out[c * 16 + p] - want) < 1e-5);
  });
  // A horizontal ramp shrunk 4x stays a ramp: values are the local averages.
  const ramp = new Image(16, 4);
  for (let x = 0; x < 16; x++) {
    for (let y = 0; y < 4; y++) ramp.setPixelAt(x + 1, y + 1, Image.rgbaToColor(x * 16, 0, 0, 255));
  }
  const r = new Float32Array(3 * 4);
  toNormalisedCHW(await decodeImage(await ramp.encode(), "ramp.png"), 4, 1, UNIT, r);
  for (let x = 1; x < 4; x++) assert.ok(r[x] > r[x - 1], `ramp ${[...r.subarray(0, 4)]}`);
  assert.ok(Math.abs(r[1] - (5.5 * 16) / 255) < 0.03, `average of pixels 2..9: ${r[1]}`);
});

Deno.test("decode: the direct JPEG path gives the pixels of imagescript's Image.decode", async () => {
  const img = new Image(24, 16);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 24; x++) {
      img.setPixelAt(x + 1, y + 1, Image.rgbaToColor(x * 10, y * 15, (x * y) % 256, 255));
    }
  }
  const jpg = await img.encodeJPEG(85);
  const fast = await decodeImage(jpg, "a.jpg");
  const ref = await Image.decode(jpg);
  assert.equal(fast.channels, 3);
  assert.equal(fast.width, 24);
  assert.equal(fast.height, 16);
  for (let p = 0; p < 24 * 16; p++) {
    for (let c = 0; c < 3; c++) assert.equal(fast.pixels[p * 3 + c], ref.bitmap[p * 4 + c]);
  }
  const a = new Float32Array(3 * 24 * 16), b = new Float32Array(3 * 24 * 16);
  toNormalisedCHW(fast, 24, 16, UNIT, a);
  toNormalisedCHW({ width: 24, height: 16, channels: 4, pixels: ref.bitmap }, 24, 16, UNIT, b);
  assert.deepEqual(a, b);
  await assert.rejects(() => decodeImage(jpg.subarray(0, 40), "cut.jpg"), /cut\.jpg/);
  assert.equal((await decodeImage(jpg, "again.jpg")).width, 24);
});

async function writeImages(dir: string, n: number): Promise<DatasetRow[]> {
  const rows: DatasetRow[] = [];
  for (let i = 0; i < n; i++) {
    const img = new Image(20, 20);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        img.setPixelAt(
          x + 1,
          y + 1,
          Image.rgbaToColor((x * 12 + i * 9) % 256, y * 12, i * 20, 255),
        );
      }
    }
    const jpeg = i % 2 === 0;
    const path = `${dir}/img_${i}.${jpeg ? "jpg" : "png"}`;
    await Deno.writeFile(path, jpeg ? await img.encodeJPEG(90) : await img.encode());
    rows.push({ filepath: path, target: i % 2, bias: { marked: i % 2, instrument: i % 8 } });
  }
  return rows;
}

Deno.test("loader: workers give exactly the batches of the main thread", async () => {
  const dir = await Deno.makeTempDir({ prefix: "loader_test_" });
  try {
    const ds = new FileDataset(await writeImages(dir, 11), 16);
    const opts = { batchSize: 4, seed: 9, augment: "flips" as const };
    const main = new DataLoader(ds, { ...opts, numWorkers: 0 });
    const pool = new DataLoader(ds, { ...opts, numWorkers: 2, prefetch: 3 });
    try {
      for (const epoch of [0, 1]) {
        const a = await collect(main.epoch(epoch)), b = await collect(pool.epoch(epoch));
        assert.equal(a.length, 3);
        assert.equal(b.length, 3);
        a.forEach((x, k) => {
          validateBatch(b[k]);
          assert.deepEqual(b[k].shape, x.shape);
          assert.deepEqual([...b[k].indices], [...x.indices]);
          assert.deepEqual([...b[k].images], [...x.images]);
          assert.deepEqual([...b[k].bias.instrument], [...x.bias.instrument]);
        });
      }
    } finally {
      main.close();
      pool.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loader: a corrupt JPEG is skipped and reported by name, or fails by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "loader_corrupt_" });
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...a: unknown[]) => warnings.push(a.join(" "));
  try {
    const rows = await writeImages(dir, 5);
    const bad = `${dir}/broken_lesion.jpg`;
    await Deno.writeFile(bad, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
    rows.push({ filepath: bad, target: 1, bias: { marked: 1, instrument: 0 } });
    const ds = new FileDataset(rows, 16);
    for (const numWorkers of [0, 1]) {
      const l = new DataLoader(ds, { batchSize: 6, shuffle: false, numWorkers });
      try {
        const bs = await collect(l.epoch(0));
        assert.equal(bs.length, 1);
        assert.equal(bs[0].shape[0], 5);
        assert.deepEqual([...bs[0].indices], [0, 1, 2, 3, 4]);
        assert.ok(l.skipped.has(bad));
        assert.ok(l.skipped.get(bad)!.includes("broken_lesion.jpg"));
      } finally {
        l.close();
      }
      const strict = new DataLoader(ds, { batchSize: 6, numWorkers, onCorrupt: "error" });
      try {
        await assert.rejects(() => collect(strict.epoch(0)), /broken_lesion\.jpg/);
      } finally {
        strict.close();
      }
    }
    assert.ok(warnings.some((w) => w.includes("broken_lesion.jpg")), warnings.join("\n"));
  } finally {
    console.warn = warn;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dataset: bad rows are rejected naming the row", () => {
  assert.throws(
    () =>
      new FileDataset([
        { filepath: "a.jpg", target: 0, bias: { marked: 0 } },
        { filepath: "b.jpg", target: 1, bias: { scale: 1 } },
      ], 8),
    /row 1 \(b\.jpg\)/,
  );
  assert.throws(() => new FileDataset([{ filepath: "c.jpg", target: NaN, bias: {} }], 8), /c\.jpg/);
  assert.throws(
    () =>
      new ArrayDataset({
        images: new Float32Array(5),
        shape: [1, 1, 2, 2],
        target: new Float32Array(1),
      }),
    /do not fill/,
  );
});
