/**
 * Synthetic skin-artefact benchmark: a public stand-in for the study's ISIC training data (with
 * markings, rulers and instruments correlated with melanoma) and its private Heidelberg
 * plain / marked / ruler test sets.
 *
 * Every sample is rendered from per-index random streams (`hashSeed(seed, split, part, index)`),
 * so sample i is the same however many are generated, and the test sets draw the SAME lesion i
 * plain, with a marking and with a ruler: pixels away from the artefact are bit-identical.
 *
 * Training correlation of each artefact with malignancy is set per artefact. A number c in
 * [-1, 1] means P(artefact | malignant) = (1 + c) / 2 and P(artefact | benign) = (1 - c) / 2,
 * which with balanced classes is exactly the phi correlation between artefact and label; an
 * object gives both probabilities directly. For the instrument, c sets the probability of a style
 * from the "malignant half" (styles 4..7) in the same way; the style within a half is uniform.
 *
 * Output images are NCHW float32 normalised with ImageNet mean/std, like real photographs after
 * the loader, with bias labels named as in the study's CSVs: `marked`, `scale`, `instrument`.
 *
 * @module
 */
import type { NCHW } from "../batch.ts";
import { ArrayDataset } from "../dataset.ts";
import { IMAGENET, type Normalisation } from "../image-decode.ts";
import { hashSeed, Rng } from "../rng.ts";
import { newCanvas } from "./raster.ts";
import { applyInstrument, INSTRUMENT_COUNT, instrumentBlurRadius } from "./skin-instrument.ts";
import { type LesionSpec, renderLesion, sampleLesion } from "./skin-lesion.ts";
import { drawMarking, drawRuler, sampleMarking, sampleRuler } from "./skin-overlays.ts";

/** Bias label names, as in the study's annotation CSVs. */
export const SKIN_BIAS_NAMES = ["marked", "scale", "instrument"] as const;

/** Strength of an artefact–label association (see module docs). */
export type Correlation = number | { malignant: number; benign: number };

/** P(artefact | malignant) and P(artefact | benign) of a correlation setting. */
export function correlationProbabilities(c: Correlation): { malignant: number; benign: number } {
  const p = typeof c === "number" ? { malignant: (1 + c) / 2, benign: (1 - c) / 2 } : c;
  for (const [k, v] of Object.entries(p)) {
    if (!(v >= 0 && v <= 1)) {
      throw new Error(`correlation: P(artefact | ${k}) = ${v} is not a probability (from ${c})`);
    }
  }
  return p;
}

/** Options shared by every synthetic skin set. */
export interface SkinCommonOptions {
  /** Number of lesions. */
  n: number;
  seed?: number;
  /** Image side in pixels (default 64). */
  size?: number;
  /** Probability that a lesion is malignant (default 0.5). */
  malignantFraction?: number;
}

/** Options of the training (or validation) set. */
export interface SkinTrainOptions extends SkinCommonOptions {
  /** "train" and "val" draw different lesions. */
  split?: "train" | "val";
  /** Defaults: 0.8 for each artefact. */
  correlation?: { marked?: Correlation; scale?: Correlation; instrument?: Correlation };
}

/** Options of the Heidelberg-style test sets. */
export interface SkinTestOptions extends SkinCommonOptions {
  /** Instrument of the plain / marked / rulers sets (one dermoscope, as at Heidelberg; default 0). */
  instrument?: number;
  /** Instrument-shift set: styles independent of the label (default), or the reverse association. */
  instrumentShift?: "independent" | "reversed";
  /** The training instrument correlation that "reversed" inverts (default 0.8). */
  trainInstrumentCorrelation?: Correlation;
}

/** A generated set. */
export interface SkinSet {
  name: string;
  images: Float32Array;
  shape: NCHW;
  target: Float32Array;
  labels: Int32Array;
  bias: { marked: Int32Array; scale: Int32Array; instrument: Int32Array };
}

/** What to draw for one sample. */
export interface SkinRecipe {
  split: string;
  index: number;
  marked: boolean;
  ruler: boolean;
  instrument: number;
}

/** One rendered sample on [0,1] with the mask of pixels its artefacts may have changed. */
export interface RenderedSkin {
  image: Float32Array;
  mask: Uint8Array;
  lesion: LesionSpec;
}

/** The lesion of `index` in `split` (its class is the first draw of the same stream). */
export function lesionOf(
  seed: number,
  split: string,
  index: number,
  malignantFraction = 0.5,
): LesionSpec {
  const rng = new Rng(hashSeed(seed, split, "lesion", index));
  return sampleLesion(rng, rng.float() < malignantFraction);
}

/** Whether lesion `index` of `split` is malignant, without sampling the rest of it. */
export function lesionIsMalignant(
  seed: number,
  split: string,
  index: number,
  malignantFraction = 0.5,
): boolean {
  return new Rng(hashSeed(seed, split, "lesion", index)).float() < malignantFraction;
}

/** Renders one sample (CHW on [0,1]). */
export function renderSkinSample(
  seed: number,
  recipe: SkinRecipe,
  size = 64,
  malignantFraction = 0.5,
): RenderedSkin {
  const lesion = lesionOf(seed, recipe.split, recipe.index, malignantFraction);
  const canvas = newCanvas(size);
  renderLesion(lesion, canvas);
  const plane = size * size;
  const cover = new Float32Array(plane);
  if (recipe.marked) {
    const rng = new Rng(hashSeed(seed, recipe.split, "marking", recipe.index));
    drawMarking(sampleMarking(rng, lesion), canvas, cover);
  }
  if (recipe.ruler) {
    drawRuler(
      sampleRuler(new Rng(hashSeed(seed, recipe.split, "ruler", recipe.index))),
      canvas,
      cover,
    );
  }
  applyInstrument(canvas, recipe.instrument);
  // A blur spreads the artefact by its radius: widen the mask to match.
  const r = instrumentBlurRadius(recipe.instrument, size);
  const mask = new Uint8Array(plane);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (cover[y * size + x] <= 0) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(size - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(size - 1, x + r); xx++) {
          mask[yy * size + xx] = 1;
        }
      }
    }
  }
  return { image: canvas.data, mask, lesion };
}

function drawInstrument(rng: Rng, malignant: boolean, c: Correlation): number {
  const p = correlationProbabilities(c);
  const secondHalf = rng.bernoulli(malignant ? p.malignant : p.benign);
  const half = INSTRUMENT_COUNT / 2;
  return (secondHalf ? half : 0) + rng.int(half);
}

function assemble(
  name: string,
  seed: number,
  size: number,
  recipes: SkinRecipe[],
  malignantFraction: number,
  norm: Normalisation = IMAGENET,
): SkinSet {
  const n = recipes.length;
  const per = 3 * size * size;
  const plane = size * size;
  const images = new Float32Array(n * per);
  const target = new Float32Array(n);
  const labels = new Int32Array(n);
  const bias = {
    marked: new Int32Array(n),
    scale: new Int32Array(n),
    instrument: new Int32Array(n),
  };
  recipes.forEach((r, i) => {
    const { image, lesion } = renderSkinSample(seed, r, size, malignantFraction);
    for (let c = 0; c < 3; c++) {
      const o = i * per + c * plane;
      const m = norm.mean[c], s = 1 / norm.std[c];
      for (let p = 0; p < plane; p++) images[o + p] = (image[c * plane + p] - m) * s;
    }
    target[i] = lesion.malignant ? 1 : 0;
    labels[i] = lesion.malignant ? 1 : 0;
    bias.marked[i] = r.marked ? 1 : 0;
    bias.scale[i] = r.ruler ? 1 : 0;
    bias.instrument[i] = r.instrument;
  });
  return { name, images, shape: [n, 3, size, size], target, labels, bias };
}

function checkCommon(o: SkinCommonOptions): { seed: number; size: number; frac: number } {
  if (!Number.isInteger(o.n) || o.n < 0) {
    throw new Error(`synthetic skin: n must be >= 0, got ${o.n}`);
  }
  const size = o.size ?? 64;
  if (!Number.isInteger(size) || size < 16) {
    throw new Error(`synthetic skin: size must be an integer >= 16, got ${size}`);
  }
  const frac = o.malignantFraction ?? 0.5;
  if (!(frac >= 0 && frac <= 1)) throw new Error(`synthetic skin: malignantFraction ${frac}`);
  return { seed: o.seed ?? 0, size, frac };
}

/** The training (or validation) set: artefacts correlated with malignancy as requested. */
export function makeSkinTrainSet(opts: SkinTrainOptions): SkinSet {
  const { seed, size, frac } = checkCommon(opts);
  const split = opts.split ?? "train";
  const pm = correlationProbabilities(opts.correlation?.marked ?? 0.8);
  const ps = correlationProbabilities(opts.correlation?.scale ?? 0.8);
  const ci = opts.correlation?.instrument ?? 0.8;
  const recipes = Array.from({ length: opts.n }, (_, index): SkinRecipe => {
    const malignant = lesionIsMalignant(seed, split, index, frac);
    const rng = new Rng(hashSeed(seed, split, "bias", index));
    const key = malignant ? "malignant" : "benign";
    const marked = rng.bernoulli(pm[key]);
    const ruler = rng.bernoulli(ps[key]);
    const instrument = drawInstrument(rng, malignant, ci);
    return { split, index, marked, ruler, instrument };
  });
  return assemble(`synthetic-${split}`, seed, size, recipes, frac);
}

/** The four Heidelberg-style test sets. */
export type SkinTestKind = "plain" | "marked" | "rulers" | "instrument";

/**
 * One Heidelberg-style test set. `plain`, `marked` and `rulers` draw the same lesions under one
 * instrument, without artefacts, with a marking, or with a ruler; `instrument` draws the same
 * plain lesions under styles assigned per `instrumentShift`.
 */
export function makeSkinTestSet(kind: SkinTestKind, opts: SkinTestOptions): SkinSet {
  const { seed, size, frac } = checkCommon(opts);
  const style = opts.instrument ?? 0;
  const recipes = Array.from({ length: opts.n }, (_, index): SkinRecipe => {
    const r = { split: "test", index, marked: false, ruler: false, instrument: style };
    if (kind === "marked") r.marked = true;
    else if (kind === "rulers") r.ruler = true;
    else if (kind === "instrument") r.instrument = shiftedInstrument(opts, seed, index, frac);
    else if (kind !== "plain") throw new Error(`synthetic skin: unknown test set ${kind}`);
    return r;
  });
  const name = kind === "instrument" ? `instrument-${opts.instrumentShift ?? "independent"}` : kind;
  return assemble(`synthetic-${name}`, seed, size, recipes, frac);
}

function shiftedInstrument(opts: SkinTestOptions, seed: number, index: number, frac: number) {
  const rng = new Rng(hashSeed(seed, "test", "instrument", index));
  if ((opts.instrumentShift ?? "independent") === "independent") return rng.int(INSTRUMENT_COUNT);
  const train = correlationProbabilities(opts.trainInstrumentCorrelation ?? 0.8);
  const reversed = { malignant: train.benign, benign: train.malignant };
  return drawInstrument(rng, lesionIsMalignant(seed, "test", index, frac), reversed);
}

/** All four Heidelberg-style test sets (see {@link makeSkinTestSet}). */
export function makeSkinTestSets(
  opts: SkinTestOptions,
): { plain: SkinSet; marked: SkinSet; rulers: SkinSet; instrument: SkinSet } {
  return {
    plain: makeSkinTestSet("plain", opts),
    marked: makeSkinTestSet("marked", opts),
    rulers: makeSkinTestSet("rulers", opts),
    instrument: makeSkinTestSet("instrument", opts),
  };
}

/** Wraps a synthetic skin set as a loader dataset. */
export function skinDataset(set: SkinSet): ArrayDataset {
  return new ArrayDataset({
    images: set.images,
    shape: set.shape,
    target: set.target,
    labels: set.labels,
    bias: { ...set.bias },
  });
}
