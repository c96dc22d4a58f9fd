/**
 * PNG contact sheets of image batches, for eyeballing synthetic data and loader output
 * (`demo`, debugging). Undoes the normalisation so colours look as the camera saw them.
 *
 * @module
 */
import type { NCHW } from "../batch.ts";
import { IMAGENET, imagescript, type Normalisation } from "../image-decode.ts";

/** One row of the sheet: the first `cols` images of an NCHW batch (1 or 3 channels). */
export interface GridRow {
  images: Float32Array;
  shape: NCHW;
}

/** Layout of the sheet. */
export interface GridOptions {
  cols?: number;
  /** Normalisation to undo (ImageNet by default). */
  norm?: Normalisation;
  /** Integer upscaling factor (nearest neighbour). */
  scale?: number;
  /** Grey gap between tiles, in output pixels. */
  gap?: number;
}

/** Encodes a grid of images as PNG bytes; rows may differ in image size. */
export async function imageGridPng(rows: GridRow[], opts: GridOptions = {}): Promise<Uint8Array> {
  if (rows.length === 0) throw new Error("imageGridPng: no rows");
  const cols = opts.cols ?? Math.max(...rows.map((r) => r.shape[0]));
  const norm = opts.norm ?? IMAGENET;
  const scale = opts.scale ?? 2;
  const gap = opts.gap ?? 2;
  const tileW = Math.max(...rows.map((r) => r.shape[3])) * scale;
  const tileH = Math.max(...rows.map((r) => r.shape[2])) * scale;
  const width = cols * (tileW + gap) + gap;
  const height = rows.length * (tileH + gap) + gap;
  const { Image } = await imagescript();
  const img = new Image(width, height);
  img.bitmap.fill(96);
  const px = img.bitmap;
  rows.forEach((row, ri) => {
    const [n, c, h, w] = row.shape;
    if (c !== 1 && c !== 3) throw new Error(`imageGridPng: row ${ri} has ${c} channels`);
    for (let k = 0; k < Math.min(n, cols); k++) {
      const ox = gap + k * (tileW + gap), oy = gap + ri * (tileH + gap);
      for (let y = 0; y < h * scale; y++) {
        for (let x = 0; x < w * scale; x++) {
          const p = Math.floor(y / scale) * w + Math.floor(x / scale);
          const q = ((oy + y) * width + ox + x) * 4;
          for (let ch = 0; ch < 3; ch++) {
            const src = c === 1 ? 0 : ch;
            const v = row.images[(k * c + src) * h * w + p] * norm.std[ch] + norm.mean[ch];
            px[q + ch] = Math.round(Math.min(1, Math.max(0, v)) * 255);
          }
          px[q + 3] = 255;
        }
      }
    }
  });
  return await img.encode(1);
}
