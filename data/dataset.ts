/**
 * The two kinds of dataset the loader reads: image files on disk described by rows
 * ({@link FileDataset}, the real dermoscopy sets) and already-decoded images in memory
 * ({@link ArrayDataset}, the synthetic benchmarks).
 *
 * Both expose the per-sample targets and bias labels as flat typed arrays up front so that a
 * batch's metadata is a gather, and so that class weights (inverse bias-class frequency) can be
 * computed without touching an image.
 *
 * @module
 */
import type { NCHW } from "./batch.ts";
import { IMAGENET, type Normalisation } from "./image-decode.ts";

/** One row of a file-backed dataset, as produced from the annotation CSVs. */
export interface DatasetRow {
  filepath: string;
  /** Main target: 1 = melanoma, 0 = benign (any number for other tasks). */
  target: number;
  /** Bias labels by name (`marked`, `scale`, `instrument`, ...), integer class indices. */
  bias: Record<string, number>;
}

/**
 * What every dataset offers the loader. In-memory datasets (anything but {@link FileDataset})
 * provide `readSample`, which lets a set keep a compact form (e.g. Colored MNIST keeps 8-bit
 * digits and one colour per image) and expand one sample at a time.
 */
export interface Dataset {
  readonly length: number;
  /** [channels, height, width] of one loaded sample. */
  readonly sampleShape: [number, number, number];
  readonly target: Float32Array;
  /** Integer class of each sample (the target truncated). */
  readonly labels: Int32Array;
  readonly bias: Record<string, Int32Array>;
  /** Writes sample `i` (CHW float32, model-ready) into `out` at `offset`. */
  readSample?(i: number, out: Float32Array, offset: number): void;
}

function targetsToLabels(target: Float32Array): Int32Array {
  const labels = new Int32Array(target.length);
  for (let i = 0; i < target.length; i++) labels[i] = Math.trunc(target[i]);
  return labels;
}

/** Image files on disk, decoded and resized to `size`x`size` RGB when loaded. */
export class FileDataset implements Dataset {
  readonly rows: readonly DatasetRow[];
  readonly sampleShape: [number, number, number];
  readonly target: Float32Array;
  readonly labels: Int32Array;
  readonly bias: Record<string, Int32Array>;
  readonly norm: Normalisation;

  /**
   * @param rows one per image; every row must carry the same bias names.
   * @param size output side length in pixels (the study used 256).
   * @param norm normalisation (ImageNet by default).
   */
  constructor(rows: readonly DatasetRow[], size: number, norm: Normalisation = IMAGENET) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`FileDataset: size must be a positive integer, got ${size}`);
    }
    this.rows = rows;
    this.sampleShape = [3, size, size];
    this.norm = norm;
    this.target = new Float32Array(rows.length);
    const names = rows.length > 0 ? Object.keys(rows[0].bias).sort() : [];
    this.bias = Object.fromEntries(names.map((k) => [k, new Int32Array(rows.length)]));
    rows.forEach((row, i) => {
      if (typeof row.filepath !== "string" || row.filepath === "") {
        throw new Error(`FileDataset: row ${i} has no filepath`);
      }
      if (!Number.isFinite(row.target)) {
        throw new Error(`FileDataset: row ${i} (${row.filepath}) has target ${row.target}`);
      }
      this.target[i] = row.target;
      const keys = Object.keys(row.bias);
      if (keys.length !== names.length) {
        throw new Error(
          `FileDataset: row ${i} (${row.filepath}) has bias [${keys.sort()}], expected [${names}]`,
        );
      }
      for (const k of names) {
        const v = row.bias[k];
        if (!Number.isInteger(v)) {
          throw new Error(`FileDataset: row ${i} (${row.filepath}) has bias ${k}=${v}`);
        }
        this.bias[k][i] = v;
      }
    });
    this.labels = targetsToLabels(this.target);
  }

  get length(): number {
    return this.rows.length;
  }
}

/** Fields of an in-memory dataset. */
export interface ArrayDatasetInit {
  /** NCHW float images, already normalised as the model expects. */
  images: Float32Array;
  shape: NCHW;
  target: Float32Array;
  /** Defaults to the target truncated to integers. */
  labels?: Int32Array;
  bias?: Record<string, Int32Array>;
}

/** Already-decoded images in memory (synthetic benchmarks, tests). */
export class ArrayDataset implements Dataset {
  readonly images: Float32Array;
  readonly sampleShape: [number, number, number];
  readonly target: Float32Array;
  readonly labels: Int32Array;
  readonly bias: Record<string, Int32Array>;
  readonly #n: number;

  constructor(init: ArrayDatasetInit) {
    const [n, c, h, w] = init.shape;
    if (init.images.length !== n * c * h * w) {
      throw new Error(
        `ArrayDataset: ${init.images.length} image values do not fill [${init.shape.join(",")}]`,
      );
    }
    const check = (name: string, len: number) => {
      if (len !== n) throw new Error(`ArrayDataset: ${name} has ${len} entries, expected ${n}`);
    };
    check("target", init.target.length);
    if (init.labels) check("labels", init.labels.length);
    for (const [k, v] of Object.entries(init.bias ?? {})) check(`bias.${k}`, v.length);
    this.#n = n;
    this.images = init.images;
    this.sampleShape = [c, h, w];
    this.target = init.target;
    this.labels = init.labels ?? targetsToLabels(init.target);
    this.bias = init.bias ?? {};
  }

  get length(): number {
    return this.#n;
  }

  readSample(i: number, out: Float32Array, offset: number): void {
    const [c, h, w] = this.sampleShape;
    const per = c * h * w;
    out.set(this.images.subarray(i * per, (i + 1) * per), offset);
  }

  /** A dataset view of the rows `idx` (copies the images). */
  subset(idx: ArrayLike<number>): ArrayDataset {
    const [c, h, w] = this.sampleShape;
    const size = c * h * w;
    const images = new Float32Array(idx.length * size);
    const take = <T extends Float32Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const out = make(idx.length);
      for (let k = 0; k < idx.length; k++) out[k] = a[idx[k]];
      return out;
    };
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k];
      if (!(i >= 0 && i < this.#n)) throw new Error(`ArrayDataset.subset: index ${i} out of range`);
      images.set(this.images.subarray(i * size, (i + 1) * size), k * size);
    }
    return new ArrayDataset({
      images,
      shape: [idx.length, c, h, w],
      target: take(this.target, (n) => new Float32Array(n)),
      labels: take(this.labels, (n) => new Int32Array(n)),
      bias: Object.fromEntries(
        Object.entries(this.bias).map(([k, v]) => [k, take(v, (n) => new Int32Array(n))]),
      ),
    });
  }
}
