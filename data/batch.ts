/**
 * The narrow hand-over between data loading and the tensor engine.
 *
 * The loader knows nothing about tensors: it hands plain typed arrays that the training loop
 * uploads with one call per field. Keeping this contract tiny lets data/ be written, tested and
 * benchmarked without the engine, and lets the engine accept batches from any source (files,
 * synthetic sets, a test fixture).
 *
 * @module
 */

/** Shape of an image batch: [batch, channels, height, width]. */
export type NCHW = [n: number, c: number, h: number, w: number];

/**
 * One mini-batch.
 *
 * - `images`: float32, NCHW, row-major, already normalised (ImageNet mean/std for photographs and
 *   the synthetic skin set; raw [0,1] for Colored MNIST).
 * - `target`: float32 main-task target per sample (0/1 for melanoma, the digit for MNIST); what a
 *   BCE-with-logits head consumes directly.
 * - `labels`: the same target as int32 class indices, for cross-entropy heads and metrics.
 * - `bias`: one int32 array per bias variable (`marked`, `scale`, `instrument`, `colourR`, ...),
 *   each holding class indices for the auxiliary heads.
 * - `indices`: the dataset row of each sample, so predictions can be joined back to the CSV.
 */
export interface Batch {
  images: Float32Array;
  shape: NCHW;
  target: Float32Array;
  labels: Int32Array;
  bias: Record<string, Int32Array>;
  indices: Int32Array;
}

/** Number of elements of one image of the batch (C*H*W). */
export function imageSize(shape: NCHW): number {
  return shape[1] * shape[2] * shape[3];
}

/** Checks that every field of a batch agrees with its shape; throws naming the first mismatch. */
export function validateBatch(b: Batch): void {
  const [n] = b.shape;
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) throw new Error(`batch: ${name} has length ${got}, expected ${want}`);
  };
  expect("images", b.images.length, n * imageSize(b.shape));
  expect("target", b.target.length, n);
  expect("labels", b.labels.length, n);
  expect("indices", b.indices.length, n);
  for (const [k, v] of Object.entries(b.bias)) expect(`bias.${k}`, v.length, n);
}
