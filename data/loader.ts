/**
 * Mini-batch loader: seeded shuffling, drop_last, the study's flip augmentation and Web Worker
 * prefetching, handing out {@link Batch}es of plain typed arrays.
 *
 * Determinism: the order and every augmentation flip of epoch `e` are drawn in the main thread
 * from `hashSeed(seed, ..., e)`, so an epoch is reproducible on its own (resuming at epoch 7 gives
 * epoch 7's batches) and workers only execute, which makes `numWorkers: 4` give exactly the
 * batches of `numWorkers: 0`.
 *
 * Non-finite inputs: a batch with a NaN or infinite value is an error naming the image (or the
 * in-memory sample) and the pixel, whatever `onCorrupt` says.
 *
 * Corrupt or unreadable files: by default (`onCorrupt: "skip"`) the sample is left out of its
 * batch (the batch is one shorter), a warning naming the file is printed once, and the file is
 * recorded in {@link DataLoader.skipped}; with `onCorrupt: "error"` the epoch fails with an error
 * naming the file.
 *
 * Workers serve {@link FileDataset}s (decoding is the cost). In-memory datasets (ArrayDataset,
 * Colored MNIST) are always assembled in the main thread: a copy with flips is cheaper than
 * posting it to a worker.
 *
 * @module
 */
import { drawSkewFlips, flipImageInPlace } from "./augment.ts";
import type { Batch } from "./batch.ts";
import { type Dataset, FileDataset } from "./dataset.ts";
import { ImageDecodeError, loadAugmentedImage } from "./image-decode.ts";
import type { WorkerJob, WorkerReply } from "./loader-worker.ts";
import { hashSeed, Rng } from "./rng.ts";

/** Loader options; defaults follow PyTorch's DataLoader where the study did not say. */
export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the order and the flips (default 0, the study's --seed default). */
  seed?: number;
  /** Drop the final incomplete batch (default false). */
  dropLast?: boolean;
  /** "flips": transpose / vflip / hflip each with p = 0.5; "none" (default). */
  augment?: "none" | "flips";
  /** Decoding workers for file datasets; 0 decodes in the main thread (default 0). */
  numWorkers?: number;
  /** Batches requested ahead of the consumer when workers are used (default 2 per worker). */
  prefetch?: number;
  /** What to do with an undecodable file (default "skip", see module docs). */
  onCorrupt?: "skip" | "error";
  /**
   * Draw each epoch's `length` samples with replacement, sample i with probability proportional
   * to `sampleWeights[i]` (PyTorch's WeightedRandomSampler), instead of a permutation.
   */
  sampleWeights?: ArrayLike<number>;
  /**
   * With `augment: "flips"`, flip only the samples i with `flipSamples[i] !== 0` (the study's
   * extra transform under --skew touched the marked images only); the flips are drawn for every
   * sample either way, so the stream does not depend on the mask.
   */
  flipSamples?: ArrayLike<number>;
}

/** The sample order and flip set of one epoch. */
export interface EpochPlan {
  order: Int32Array;
  flags: Uint8Array;
}

interface Assembled {
  indices: Int32Array;
  images: Float32Array;
  errors: (string | null)[];
}

/**
 * Iterates a dataset in batches; one instance serves any number of epochs. Call close() (or
 * declare it with `using`) when done: live workers keep the process running.
 */
export class DataLoader implements AsyncIterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly augment: "none" | "flips";
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly onCorrupt: "skip" | "error";
  readonly #flipSamples: ArrayLike<number> | null;
  /** Cumulative sample weights, normalised to end at 1, when sampling by weight. */
  readonly #weightCdf: Float64Array | null;
  /** Files left out so far, with the reason. */
  readonly skipped = new Map<string, string>();
  #workers: Worker[] = [];
  #pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  #nextJob = 0;
  #nextEpoch = 0;
  #closed = false;

  constructor(dataset: Dataset, opts: LoaderOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new Error(`DataLoader: batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    const workers = opts.numWorkers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new Error(`DataLoader: numWorkers must be a non-negative integer, got ${workers}`);
    }
    this.dataset = dataset;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.augment = opts.augment ?? "none";
    this.numWorkers = dataset instanceof FileDataset ? workers : 0;
    this.prefetch = Math.max(1, opts.prefetch ?? 2 * Math.max(1, this.numWorkers));
    this.onCorrupt = opts.onCorrupt ?? "skip";
    if (opts.flipSamples && opts.flipSamples.length !== dataset.length) {
      throw new Error(
        `DataLoader: flipSamples has ${opts.flipSamples.length} entries, dataset ${dataset.length}`,
      );
    }
    this.#flipSamples = opts.flipSamples ?? null;
    this.#weightCdf = opts.sampleWeights ? weightCdf(opts.sampleWeights, dataset.length) : null;
    const [, h, w] = dataset.sampleShape;
    if (this.augment === "flips" && h !== w) {
      throw new Error(`DataLoader: flip augmentation needs square images, got ${h}x${w}`);
    }
  }

  /** Batches per epoch (before any corrupt-file skipping). */
  get batchesPerEpoch(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order and flips of epoch `epoch` (pure function of seed and epoch). */
  plan(epoch: number): EpochPlan {
    const n = this.dataset.length;
    const order = this.#weightCdf
      ? drawWeighted(this.#weightCdf, new Rng(hashSeed(this.seed, "loader-weighted", epoch)))
      : this.shuffle
      ? new Rng(hashSeed(this.seed, "loader-shuffle", epoch)).permutation(n)
      : Int32Array.from({ length: n }, (_, i) => i);
    const flags = new Uint8Array(n);
    if (this.augment === "flips") {
      const rng = new Rng(hashSeed(this.seed, "loader-augment", epoch));
      const only = this.#flipSamples;
      for (let k = 0; k < n; k++) {
        const f = drawSkewFlips(rng);
        flags[k] = !only || only[order[k]] !== 0 ? f : 0;
      }
    }
    return { order, flags };
  }

  /** Iterates the next epoch (0, 1, 2, ... on successive calls). */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch(this.#nextEpoch++);
  }

  /** Iterates epoch `epoch`'s batches in order, prefetching with workers when configured. */
  async *epoch(epoch: number): AsyncGenerator<Batch> {
    if (this.#closed) throw new Error("DataLoader: used after close()");
    const { order, flags } = this.plan(epoch);
    const nb = this.batchesPerEpoch;
    const slice = (b: number) => {
      const lo = b * this.batchSize;
      const hi = Math.min(order.length, lo + this.batchSize);
      return { indices: order.slice(lo, hi), flags: flags.slice(lo, hi) };
    };
    if (this.numWorkers === 0) {
      for (let b = 0; b < nb; b++) {
        const { indices, flags: f } = slice(b);
        const batch = this.#finish(await this.#assembleHere(indices, f));
        if (batch) yield batch;
      }
      return;
    }
    this.#startWorkers();
    const queue: Promise<Assembled>[] = [];
    let next = 0;
    const issue = () => {
      const { indices, flags: f } = slice(next++);
      const p = this.#assembleInWorker(indices, f);
      p.catch(() => {}); // observed when awaited; avoids an unhandled rejection after early exit
      queue.push(p);
    };
    while (queue.length < this.prefetch && next < nb) issue();
    while (queue.length > 0) {
      const assembled = await queue.shift()!;
      if (next < nb) issue();
      const batch = this.#finish(assembled);
      if (batch) yield batch;
    }
  }

  /** Lets `using loader = new DataLoader(...)` close the workers at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Terminates the workers; the loader cannot be used afterwards. */
  close(): void {
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    for (const p of this.#pending.values()) p.reject(new Error("DataLoader closed"));
    this.#pending.clear();
  }

  async #assembleHere(indices: Int32Array, flags: Uint8Array): Promise<Assembled> {
    const ds = this.dataset;
    const [c, h, w] = ds.sampleShape;
    const per = c * h * w;
    const images = new Float32Array(indices.length * per);
    const errors: (string | null)[] = Array.from(indices, () => null);
    if (ds instanceof FileDataset) {
      const scratch = new Float32Array(per);
      for (let k = 0; k < indices.length; k++) {
        const path = ds.rows[indices[k]].filepath;
        try {
          await loadAugmentedImage(path, h, ds.norm, flags[k], images, k * per, scratch);
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          errors[k] = e.message;
        }
      }
    } else if (ds.readSample) {
      for (let k = 0; k < indices.length; k++) {
        ds.readSample(indices[k], images, k * per);
        flipImageInPlace(images, k * per, c, h, w, flags[k]);
      }
    } else {
      throw new Error("DataLoader: dataset must be a FileDataset or provide readSample()");
    }
    return { indices, images, errors };
  }

  #startWorkers(): void {
    if (this.#workers.length > 0) return;
    const url = new URL("./loader-worker.ts", import.meta.url).href;
    for (let i = 0; i < this.numWorkers; i++) {
      const worker = new Worker(url, { type: "module" });
      worker.onmessage = (ev: MessageEvent<WorkerReply>) => {
        const p = this.#pending.get(ev.data.id);
        if (!p) return;
        this.#pending.delete(ev.data.id);
        if (ev.data.fatal) p.reject(new Error(`DataLoader worker: ${ev.data.fatal}`));
        else p.resolve(ev.data);
      };
      worker.onerror = (ev: ErrorEvent) => {
        ev.preventDefault();
        const err = new Error(`DataLoader worker ${i} crashed: ${ev.message}`);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
      };
      this.#workers.push(worker);
    }
  }

  async #assembleInWorker(indices: Int32Array, flags: Uint8Array): Promise<Assembled> {
    const ds = this.dataset as FileDataset;
    const id = this.#nextJob++;
    const job: WorkerJob = {
      id,
      size: ds.sampleShape[1],
      norm: ds.norm,
      items: Array.from(indices, (i, k) => ({ filepath: ds.rows[i].filepath, flags: flags[k] })),
    };
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      if (this.#closed) return reject(new Error("DataLoader closed"));
      this.#pending.set(id, { resolve, reject });
      this.#workers[id % this.#workers.length].postMessage(job);
    });
    return { indices, images: reply.images, errors: reply.errors };
  }

  /** Applies the corrupt-file policy and gathers the metadata; null when nothing is left. */
  #finish(a: Assembled): Batch | null {
    const ds = this.dataset;
    const [c, h, w] = ds.sampleShape;
    const per = c * h * w;
    let keep = a.indices;
    let images = a.images;
    const bad = a.errors.flatMap((e, k) => (e === null ? [] : [k]));
    if (bad.length > 0) {
      const paths = bad.map((k) => (ds as FileDataset).rows[a.indices[k]].filepath);
      if (this.onCorrupt === "error") {
        throw new Error(`DataLoader: ${a.errors[bad[0]]}`);
      }
      bad.forEach((k, j) => {
        if (!this.skipped.has(paths[j])) {
          console.warn(`DataLoader: skipping ${a.errors[k]}`);
          this.skipped.set(paths[j], a.errors[k]!);
        }
      });
      const good = a.errors.flatMap((e, k) => (e === null ? [k] : []));
      keep = Int32Array.from(good, (k) => a.indices[k]);
      images = new Float32Array(good.length * per);
      good.forEach((k, j) => images.set(a.images.subarray(k * per, (k + 1) * per), j * per));
    }
    if (keep.length === 0) return null;
    assertFiniteImages(ds, keep, images, per);
    const n = keep.length;
    const target = new Float32Array(n);
    const labels = new Int32Array(n);
    const bias: Record<string, Int32Array> = {};
    for (const name of Object.keys(ds.bias)) bias[name] = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const i = keep[k];
      target[k] = ds.target[i];
      labels[k] = ds.labels[i];
      for (const name in bias) bias[name][k] = ds.bias[name][i];
    }
    return { images, shape: [n, c, h, w], target, labels, bias, indices: keep };
  }
}

/**
 * Throws naming the first image of the batch holding NaN or an infinity: such a value poisons
 * every batch-norm statistic it meets, so it must not reach training. One sum per image (a sum
 * is finite when every term is, barring overflow, which the exact scan then rules out).
 */
function assertFiniteImages(ds: Dataset, rows: Int32Array, images: Float32Array, per: number) {
  for (let k = 0; k < rows.length; k++) {
    let sum = 0;
    const base = k * per;
    for (let j = base; j < base + per; j++) sum += images[j];
    if (Number.isFinite(sum)) continue;
    const bad = images.subarray(base, base + per).findIndex((v) => !Number.isFinite(v));
    if (bad < 0) continue;
    const what = ds instanceof FileDataset
      ? `image ${ds.rows[rows[k]].filepath}`
      : `sample ${rows[k]} of the dataset`;
    const [, h, w] = ds.sampleShape;
    const c = Math.floor(bad / (h * w));
    const y = Math.floor((bad % (h * w)) / w);
    throw new Error(
      `DataLoader: ${what} holds ${images[base + bad]} at channel ${c}, row ${y}, column ` +
        `${bad % w}; non-finite inputs would make the model's weights NaN`,
    );
  }
}

/** The normalised cumulative weights, naming the first weight that is not finite and >= 0. */
function weightCdf(weights: ArrayLike<number>, n: number): Float64Array {
  if (weights.length !== n) {
    throw new Error(`DataLoader: ${weights.length} sample weights for a dataset of ${n}`);
  }
  const cdf = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!(w >= 0 && Number.isFinite(w))) {
      throw new Error(`DataLoader: sample weight ${i} is ${w}, not a finite value >= 0`);
    }
    total += w;
    cdf[i] = total;
  }
  if (!(total > 0)) throw new Error("DataLoader: every sample weight is 0");
  for (let i = 0; i < n; i++) cdf[i] /= total;
  return cdf;
}

/** n indices drawn with replacement from the distribution of `cdf`. */
function drawWeighted(cdf: Float64Array, rng: Rng): Int32Array {
  const n = cdf.length;
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const u = rng.float();
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    order[k] = lo;
  }
  return order;
}
