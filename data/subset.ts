/**
 * A view of some samples of any {@link Dataset}, in a given order: how a CV fold, a validation
 * split or a debug sample is taken without copying images. File datasets stay file datasets (so
 * the loader's workers still decode them); in-memory ones read through to their parent.
 *
 * @module
 */
import { type Dataset, FileDataset } from "./dataset.ts";

function gather<T extends Float32Array | Int32Array>(
  a: T,
  idx: Int32Array,
  make: (n: number) => T,
) {
  const out = make(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = a[idx[k]];
  return out;
}

/** The samples `indices` of `dataset` (repeats allowed); an index out of range is an error. */
export function subsetDataset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const idx = Int32Array.from(indices as ArrayLike<number>);
  for (const i of idx) {
    if (!(i >= 0 && i < dataset.length)) {
      throw new Error(`subsetDataset: index ${i} out of range for ${dataset.length} samples`);
    }
  }
  if (dataset instanceof FileDataset) {
    const rows = Array.from(idx, (i) => dataset.rows[i]);
    return new FileDataset(rows, dataset.sampleShape[1], dataset.norm);
  }
  const read = dataset.readSample?.bind(dataset);
  if (!read) throw new Error("subsetDataset: the dataset has neither rows nor readSample");
  return new SubsetDataset(dataset, idx, read);
}

class SubsetDataset implements Dataset {
  readonly sampleShape: [number, number, number];
  readonly target: Float32Array;
  readonly labels: Int32Array;
  readonly bias: Record<string, Int32Array>;
  readonly #idx: Int32Array;
  readonly #read: (i: number, out: Float32Array, offset: number) => void;

  constructor(
    parent: Dataset,
    idx: Int32Array,
    read: (i: number, out: Float32Array, offset: number) => void,
  ) {
    this.#idx = idx;
    this.#read = read;
    this.sampleShape = [...parent.sampleShape];
    this.target = gather(parent.target, idx, (n) => new Float32Array(n));
    this.labels = gather(parent.labels, idx, (n) => new Int32Array(n));
    this.bias = Object.fromEntries(
      Object.entries(parent.bias).map(([k, v]) => [k, gather(v, idx, (n) => new Int32Array(n))]),
    );
  }

  get length(): number {
    return this.#idx.length;
  }

  readSample(i: number, out: Float32Array, offset: number): void {
    if (!(i >= 0 && i < this.#idx.length)) {
      throw new Error(`subset: sample ${i} out of range for ${this.#idx.length}`);
    }
    this.#read(this.#idx[i], out, offset);
  }
}
