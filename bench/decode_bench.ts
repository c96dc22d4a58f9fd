/**
 * Image decoding throughput: how many study-sized (256 px) photographs per second this machine
 * turns into normalised float tensors, on one thread and through the loader's worker pool.
 *
 * The test images are synthetic lesions rendered at 256 px and encoded as JPEG (quality 90, like
 * the ISIC 256 px releases) and PNG, so the benchmark needs no download.
 *
 * @module
 */
import { DataLoader } from "../data/loader.ts";
import { FileDataset } from "../data/dataset.ts";
import { decodeImage, IMAGENET, imagescript, toNormalisedCHW } from "../data/image-decode.ts";
import { renderSkinSample } from "../data/synthetic/skin-artefacts.ts";

/** One measured throughput. */
export interface DecodeBenchResult {
  name: string;
  imagesPerSecond: number;
}

async function encodeSamples(count: number, size: number) {
  const { Image } = await imagescript();
  const jpegs: Uint8Array[] = [];
  const pngs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const { image } = renderSkinSample(1, {
      split: "bench",
      index: i,
      marked: i % 3 === 0,
      ruler: i % 4 === 0,
      instrument: i % 8,
    }, size);
    const img = new Image(size, size);
    const plane = size * size;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) img.bitmap[p * 4 + c] = Math.round(image[c * plane + p] * 255);
      img.bitmap[p * 4 + 3] = 255;
    }
    jpegs.push(await img.encodeJPEG(90));
    if (i < count / 2) pngs.push(await img.encode(1));
  }
  return { jpegs, pngs };
}

/** Runs `work(i)` over `n` items, repeating until `minMs` has passed; returns items/s. */
async function rate(n: number, minMs: number, work: (i: number) => Promise<void>) {
  for (let i = 0; i < Math.min(n, 4); i++) await work(i); // warm-up (WASM instantiation, JIT)
  let done = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    for (let i = 0; i < n; i++) await work(i);
    done += n;
  }
  return done / ((performance.now() - t0) / 1000);
}

/** Measures decode + resize + normalise throughput; the lead wires it into `deno task bench`. */
export async function benchDecode(): Promise<DecodeBenchResult[]> {
  const size = 256;
  const { jpegs, pngs } = await encodeSamples(24, size);
  const out224 = new Float32Array(3 * 224 * 224);
  const out256 = new Float32Array(3 * size * size);
  const results: DecodeBenchResult[] = [];
  results.push({
    name: "jpeg 256px decode+normalise (1 thread)",
    imagesPerSecond: await rate(jpegs.length, 1500, async (i) => {
      toNormalisedCHW(await decodeImage(jpegs[i], "bench"), size, size, IMAGENET, out256);
    }),
  });
  results.push({
    name: "jpeg 256px decode+resize 224+normalise (1 thread)",
    imagesPerSecond: await rate(jpegs.length, 1500, async (i) => {
      toNormalisedCHW(await decodeImage(jpegs[i], "bench"), 224, 224, IMAGENET, out224);
    }),
  });
  results.push({
    name: "png 256px decode+normalise (1 thread)",
    imagesPerSecond: await rate(pngs.length, 1000, async (i) => {
      toNormalisedCHW(await decodeImage(pngs[i], "bench"), size, size, IMAGENET, out256);
    }),
  });
  const dir = await Deno.makeTempDir({ prefix: "decode_bench_" });
  try {
    const rows = await Promise.all(jpegs.map(async (bytes, i) => {
      const filepath = `${dir}/img_${i}.jpg`;
      await Deno.writeFile(filepath, bytes);
      return { filepath, target: i % 2, bias: {} };
    }));
    const ds = new FileDataset([...rows, ...rows, ...rows, ...rows], size);
    const workers = Math.max(1, Math.min(4, navigator.hardwareConcurrency ?? 2));
    for (const numWorkers of [0, workers]) {
      const loader = new DataLoader(ds, { batchSize: 16, augment: "flips", numWorkers });
      try {
        for await (const _ of loader.epoch(0)) { /* warm-up: starts workers, compiles */ }
        const t0 = performance.now();
        let seen = 0;
        for await (const b of loader.epoch(1)) seen += b.shape[0];
        results.push({
          name: `loader jpeg 256px files, flips, batch 16, numWorkers=${numWorkers}`,
          imagesPerSecond: seen / ((performance.now() - t0) / 1000),
        });
      } finally {
        loader.close();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

if (import.meta.main) {
  for (const r of await benchDecode()) {
    console.log(`${r.name}: ${r.imagesPerSecond.toFixed(1)} images/s`);
  }
}
