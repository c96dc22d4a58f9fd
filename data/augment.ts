/**
 * Flip/transpose augmentations: the study's training augmentation and its 8-fold test-time
 * augmentation (TTA).
 *
 * Training (the study's albumentations pipeline under --skew and by default): Transpose,
 * VerticalFlip and HorizontalFlip, each with p = 0.5, applied in that order. Evaluation averages
 * the sigmoid over the eight elements of the square's symmetry group, in the study's order:
 * variant i transposes when i >= 4, then flips rows when i % 4 is 1 or 3 (torch `flip(2)`) and
 * columns when i % 4 is 2 or 3 (torch `flip(3)`).
 *
 * A flip set is a bit mask so that the loader can draw it in the main thread (reproducible from
 * the seed) and apply it anywhere (main thread or worker).
 *
 * @module
 */
import type { NCHW } from "./batch.ts";
import type { Rng } from "./rng.ts";

/** Bit of a flip set: swap rows and columns (applied first). */
export const TRANSPOSE = 1;
/** Bit of a flip set: reverse the row order (upside down), torch `flip(2)`. */
export const VFLIP = 2;
/** Bit of a flip set: reverse the column order (mirror), torch `flip(3)`. */
export const HFLIP = 4;

/** Draws the study's training augmentation: each of transpose, vflip, hflip with p = 0.5. */
export function drawSkewFlips(rng: Rng): number {
  let f = 0;
  if (rng.bernoulli(0.5)) f |= TRANSPOSE;
  if (rng.bernoulli(0.5)) f |= VFLIP;
  if (rng.bernoulli(0.5)) f |= HFLIP;
  return f;
}

/** The flip set of TTA variant `i` (0..7) in the study's order. */
export function ttaFlags(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i > 7) throw new Error(`ttaFlags: variant ${i} not in 0..7`);
  const m = i % 4;
  return (i >= 4 ? TRANSPOSE : 0) | (m === 1 || m === 3 ? VFLIP : 0) |
    (m === 2 || m === 3 ? HFLIP : 0);
}

/**
 * Applies a flip set to `planes` consecutive HxW planes of `src` (starting at `srcOffset`),
 * writing into `dst` at `dstOffset`. `src` and `dst` must not overlap. Transposition needs
 * square planes.
 */
export function applyFlips(
  src: Float32Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
  planes: number,
  h: number,
  w: number,
  flags: number,
): void {
  const t = (flags & TRANSPOSE) !== 0;
  const v = (flags & VFLIP) !== 0;
  const hf = (flags & HFLIP) !== 0;
  if (t && h !== w) throw new Error(`applyFlips: transpose needs square images, got ${h}x${w}`);
  const area = h * w;
  if (flags === 0) {
    dst.set(src.subarray(srcOffset, srcOffset + planes * area), dstOffset);
    return;
  }
  for (let p = 0; p < planes; p++) {
    const so = srcOffset + p * area;
    const dOff = dstOffset + p * area;
    for (let y = 0; y < h; y++) {
      const yy = v ? h - 1 - y : y;
      const drow = dOff + y * w;
      if (!t) {
        const srow = so + yy * w;
        if (hf) { for (let x = 0; x < w; x++) dst[drow + x] = src[srow + w - 1 - x]; }
        else for (let x = 0; x < w; x++) dst[drow + x] = src[srow + x];
      } else {
        // Transposed: output (y, x) reads input (xx, yy).
        for (let x = 0; x < w; x++) {
          const xx = hf ? w - 1 - x : x;
          dst[drow + x] = src[so + xx * w + yy];
        }
      }
    }
  }
}

/** Applies a flip set to one CHW image in place (uses a scratch copy). */
export function flipImageInPlace(
  img: Float32Array,
  offset: number,
  c: number,
  h: number,
  w: number,
  flags: number,
): void {
  if (flags === 0) return;
  const copy = img.slice(offset, offset + c * h * w);
  applyFlips(copy, 0, img, offset, c, h, w, flags);
}

/** TTA variant `i` (0..7) of an NCHW batch, as a new array. */
export function ttaVariant(images: Float32Array, shape: NCHW, i: number): Float32Array {
  const [n, c, h, w] = shape;
  if (images.length !== n * c * h * w) {
    throw new Error(`ttaVariant: ${images.length} values do not fill shape [${shape.join(",")}]`);
  }
  const out = new Float32Array(images.length);
  applyFlips(images, 0, out, 0, n * c, h, w, ttaFlags(i));
  return out;
}

/** All eight TTA variants of an NCHW batch; variant 0 is a copy of the input. */
export function ttaVariants(images: Float32Array, shape: NCHW): Float32Array[] {
  return Array.from({ length: 8 }, (_, i) => ttaVariant(images, shape, i));
}
