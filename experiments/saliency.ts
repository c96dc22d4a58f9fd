/**
 * Saliency maps: where in the image a model's melanoma score is sensitive. The map of image n is
 * |d score_n / d input_n|, the largest over colour channels per pixel (Simonyan et al. 2014),
 * computed with the engine's own autodiff. Gradients of the summed scores give every image's map
 * in one backward pass, which is exact when each score depends on its own image only: call it
 * with the model in eval mode (batch norm on running statistics, no dropout).
 *
 * The PNG puts the image, its map (inferno colours, scaled to the map's 99th percentile) and the
 * map over the dimmed image side by side: what a researcher checks for a model that looks at the
 * ink marking or the ruler rather than the lesion.
 */

import type { NCHW } from "../data/batch.ts";
import type { Backend } from "../gpu/backend.ts";
import { IMAGENET, imagescript, type Normalisation } from "../data/image-decode.ts";
import { backward } from "../nn/autograd.ts";
import { sum } from "../nn/ops/reduce.ts";
import { writeFileAtomic } from "../nn/atomic-file.ts";
import { keep, tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { fileStem } from "./plots/names.ts";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/** One logit per image: [N] or [N, 1] from an [N, C, H, W] batch. */
export type ScoreFunction = (x: Tensor) => Tensor;

function checkImages(images: Float32Array, shape: NCHW, what: string): void {
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${what}: shape [${shape}] is not [N, C, H, W]`);
  }
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (images.length !== size) {
    throw new Error(`${what}: ${images.length} values for shape [${shape}] (${size})`);
  }
}

/**
 * Saliency of each image: [N, H, W] row-major, max over channels of |d score / d input|. Runs
 * `chunk` images per backward pass, on `backend` (default: the default backend). Like any
 * backward pass it also accumulates gradients into the model's parameters: zero them before
 * training on.
 */
export async function saliencyMaps(
  score: ScoreFunction,
  images: Float32Array,
  shape: NCHW,
  o: { chunk?: number; backend?: Backend } = {},
): Promise<Float32Array> {
  checkImages(images, shape, "saliency");
  const [n, c, h, w] = shape;
  const chunk = o.chunk ?? 8;
  if (!Number.isInteger(chunk) || chunk < 1) throw new Error(`saliency: chunk ${chunk} not >= 1`);
  const plane = h * w;
  const out = new Float32Array(n * plane);
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const grad = tidy(() => {
      const x = tensor(images.slice(start * c * plane, (start + m) * c * plane), [m, c, h, w], {
        requiresGrad: true,
        backend: o.backend,
      });
      const s = score(x);
      if (s.size !== m || s.shape[0] !== m) {
        throw new Error(`saliency: the score function gave shape [${s.shape}] for ${m} images`);
      }
      if (!s.requiresGrad) {
        throw new Error("saliency: the score does not depend on the input (no gradient recorded)");
      }
      backward(sum(s));
      return keep(x.grad!);
    });
    const g = await grad.data();
    grad.dispose();
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < plane; p++) {
        let best = 0;
        for (let ch = 0; ch < c; ch++) best = Math.max(best, Math.abs(g[(i * c + ch) * plane + p]));
        out[(start + i) * plane + p] = best;
      }
    }
  }
  return out;
}

/** Anchors of matplotlib's "inferno" colour map, interpolated linearly. */
const INFERNO: readonly (readonly [number, number, number])[] = [
  [0, 0, 4],
  [40, 11, 84],
  [101, 21, 110],
  [159, 42, 99],
  [212, 72, 66],
  [245, 125, 21],
  [250, 193, 39],
  [252, 255, 164],
];

function inferno(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(x));
  const f = x - i;
  const a = INFERNO[i], b = INFERNO[i + 1];
  return [0, 1, 2].map((k) => a[k] + f * (b[k] - a[k])) as [number, number, number];
}

/** The value below which 99 % of the map lies (0 for an all-zero map). */
function robustMax(map: Float32Array): number {
  const sorted = Float32Array.from(map).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ||
    sorted[sorted.length - 1];
}

/** Options of the saliency pictures. */
export interface SaliencyPngOptions {
  /** The normalisation to undo for display (ImageNet by default). */
  normalisation?: Normalisation;
  /** Small images are enlarged (nearest neighbour) until their shorter side reaches this. */
  minSide?: number;
}

/**
 * PNG of one image ([C, H, W], normalised) beside its map ([H, W]) and the map over the image:
 * three panels with a 4-pixel white gap, enlarged by a whole factor for small images.
 */
export async function saliencyPng(
  image: Float32Array,
  channels: number,
  map: Float32Array,
  height: number,
  width: number,
  o: SaliencyPngOptions = {},
): Promise<Uint8Array> {
  const plane = height * width;
  if (image.length !== channels * plane || map.length !== plane) {
    throw new Error(
      `saliency PNG: ${image.length} image values and ${map.length} map values for ` +
        `${channels}x${height}x${width}`,
    );
  }
  const norm = o.normalisation ?? IMAGENET;
  const scale = Math.max(1, Math.ceil((o.minSide ?? 128) / Math.min(height, width)));
  const top = robustMax(map);
  const gap = 4;
  const tileW = width * scale;
  const outW = 3 * tileW + 2 * gap;
  const outH = height * scale;
  const { Image } = await imagescript();
  const img = new Image(outW, outH);
  const px = img.bitmap;
  px.fill(255);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < tileW; x++) {
      const p = Math.floor(y / scale) * width + Math.floor(x / scale);
      const rgb = [0, 1, 2].map((ch) => {
        const src = channels === 3 ? ch : 0;
        const v = image[src * plane + p] * norm.std[ch] + norm.mean[ch];
        return Math.min(1, Math.max(0, v)) * 255;
      });
      const t = top > 0 ? Math.min(1, map[p] / top) : 0;
      const heat = inferno(t);
      const row = y * outW;
      for (let ch = 0; ch < 3; ch++) {
        px[(row + x) * 4 + ch] = rgb[ch];
        px[(row + tileW + gap + x) * 4 + ch] = heat[ch];
        px[(row + 2 * (tileW + gap) + x) * 4 + ch] = (1 - t) * 0.5 * rgb[ch] + t * heat[ch];
      }
    }
  }
  return await img.encode(1);
}

/**
 * Up to `count` images of a test set to show: alternately malignant and benign (the first of
 * each in set order), so the maps cover both classes; fewer when the set is smaller.
 */
export function saliencyPicks(targets: ArrayLike<number>, count = 4): number[] {
  const pos: number[] = [], neg: number[] = [];
  for (let i = 0; i < targets.length; i++) (targets[i] === 1 ? pos : neg).push(i);
  const picks: number[] = [];
  for (let k = 0; picks.length < Math.min(count, targets.length); k++) {
    if (k < pos.length) picks.push(pos[k]);
    if (k < neg.length && picks.length < count) picks.push(neg[k]);
  }
  return picks;
}

/**
 * Computes the maps of a few images of one test set and writes `<dir>/saliency/<set>-<k>.png`,
 * k = 0.. in the order given; returns the paths.
 */
export async function writeSaliencyMaps(
  dir: string,
  set: string,
  score: ScoreFunction,
  images: Float32Array,
  shape: NCHW,
  o: SaliencyPngOptions & { chunk?: number; backend?: Backend } = {},
): Promise<string[]> {
  const maps = await saliencyMaps(score, images, shape, o);
  const [n, c, h, w] = shape;
  const folder = join(dir, "saliency");
  mkdirSync(folder, { recursive: true });
  const paths: string[] = [];
  for (let k = 0; k < n; k++) {
    const png = await saliencyPng(
      images.subarray(k * c * h * w, (k + 1) * c * h * w),
      c,
      maps.subarray(k * h * w, (k + 1) * h * w),
      h,
      w,
      o,
    );
    const path = join(folder, `${fileStem(set)}-${k}.png`);
    await writeFileAtomic(path, png);
    paths.push(path);
  }
  return paths;
}
