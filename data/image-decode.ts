/**
 * Image file → normalised float CHW: decode (JPEG/PNG/TIFF via imagescript), resize, normalise.
 *
 * Shared by the main-thread loader and its Web Workers so both produce bit-identical tensors.
 * imagescript only offers nearest-neighbour resizing, which aliases badly when the study's
 * 256 px images are shrunk; resizing here is a separable triangle (bilinear) filter whose support
 * widens with the shrink factor, i.e. antialiased like PIL's BILINEAR.
 *
 * @module
 */
import { applyFlips } from "./augment.ts";

type ImagescriptModule = typeof import("imagescript");
let imagescriptModule: Promise<ImagescriptModule> | null = null;

/**
 * The imagescript module, loaded on first use. Its npm entry loads a native codec (for JPEG
 * encoding) as soon as it is imported, which needs `--allow-ffi`; loading lazily turns the
 * runtime's cryptic failure into an error that says so.
 */
export function imagescript(): Promise<ImagescriptModule> {
  imagescriptModule ??= import("imagescript").catch((e) => {
    imagescriptModule = null;
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `cannot load the image codec package imagescript (${why}). It loads a native codec on ` +
        `import: run with --allow-ffi (or -A), and make sure \`deno install\` has cached it.`,
    );
  });
  return imagescriptModule;
}

/** ImageNet channel means (RGB, on [0,1]) used by every pretrained trunk the study used. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB, on [0,1]). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** Per-channel normalisation: out = (pixel/255 - mean) / std. */
export interface Normalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** The normalisation of photographs and synthetic skin images. */
export const IMAGENET: Normalisation = { mean: IMAGENET_MEAN, std: IMAGENET_STD };
/** No normalisation: values stay on [0,1]. */
export const UNIT: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] };

/** A decoded image: interleaved 8-bit pixels, row-major, 1 (grey), 3 (RGB) or 4 (RGBA) channels. */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  pixels: Uint8Array | Uint8ClampedArray;
}

/** Raised for a file that cannot be decoded; carries the file name so callers can report it. */
export class ImageDecodeError extends Error {
  constructor(readonly filepath: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`cannot decode image ${filepath}: ${why}`);
    this.name = "ImageDecodeError";
  }
}

interface JpegFramebuffer {
  width: number;
  height: number;
  /** 0 grey, 1 RGB, 2 CMYK. */
  format: number;
  buffer: Uint8Array;
}

interface JpegCodec {
  decode(bytes: Uint8Array): JpegFramebuffer;
}

let jpegCodec: Promise<JpegCodec | null> | null = null;

/**
 * imagescript's JPEG WASM decoder, instantiated once. `Image.decode` builds a new WASM instance
 * per call and repacks RGB to RGBA one pixel-sized subarray at a time, which made it about 4x
 * slower than this direct path; null when the pinned package's internal module is unavailable
 * (decoding then goes through `Image.decode`).
 */
function jpegDecoder(): Promise<JpegCodec | null> {
  jpegCodec ??= (async () => {
    try {
      const mod = await import("imagescript/wasm/node/jpeg.js");
      const lib = (mod.default ?? mod) as { init(): Promise<JpegCodec> };
      return await lib.init();
    } catch {
      return null;
    }
  })();
  return jpegCodec;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** Decodes image bytes (JPEG, PNG, TIFF); `name` only labels errors. */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<DecodedImage> {
  if (isJpeg(bytes)) {
    const codec = await jpegDecoder();
    if (codec) {
      let fb: JpegFramebuffer;
      try {
        fb = codec.decode(bytes);
      } catch (e) {
        jpegCodec = null; // a WASM trap may leave the instance unusable: start a fresh one
        throw new ImageDecodeError(name, e);
      }
      if (fb.format === 0 || fb.format === 1) {
        const channels = fb.format === 0 ? 1 : 3;
        if (fb.width < 1 || fb.height < 1 || fb.buffer.length < fb.width * fb.height * channels) {
          throw new ImageDecodeError(name, "truncated JPEG frame");
        }
        return { width: fb.width, height: fb.height, channels, pixels: fb.buffer };
      }
    }
  }
  const { Image } = await imagescript();
  let img: InstanceType<typeof Image>;
  try {
    const decoded = await Image.decode(bytes);
    if (!(decoded instanceof Image)) throw new Error("not a still image");
    img = decoded;
  } catch (e) {
    throw new ImageDecodeError(name, e);
  }
  if (img.width < 1 || img.height < 1) throw new ImageDecodeError(name, "empty image");
  return { width: img.width, height: img.height, channels: 4, pixels: img.bitmap };
}

interface FilterTable {
  start: Int32Array;
  count: Int32Array;
  weights: Float32Array;
  maxTaps: number;
}

const tableCache = new Map<string, FilterTable>();

/** Triangle-filter taps mapping `inSize` samples onto `outSize`, antialiased when shrinking. */
function filterTable(inSize: number, outSize: number): FilterTable {
  const key = `${inSize}>${outSize}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(inSize, Math.ceil(centre + support));
    let total = 0;
    let n = 0;
    for (let i = lo; i < hi && n < maxTaps; i++, n++) {
      const w = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights[o * maxTaps + n] = w;
      total += w;
    }
    for (let k = 0; k < n; k++) weights[o * maxTaps + k] /= total;
    start[o] = lo;
    count[o] = n;
  }
  const t = { start, count, weights, maxTaps };
  if (tableCache.size > 64) tableCache.clear();
  tableCache.set(key, t);
  return t;
}

/**
 * Resizes decoded pixels to `outW`x`outH` and writes normalised float CHW (RGB; grey is
 * replicated) into `out` starting at `offset`. Aspect ratio is not kept (the study's loader stretched too; images
 * are centre-cropped to squares at preprocessing time).
 */
export function toNormalisedCHW(
  src: DecodedImage,
  outW: number,
  outH: number,
  norm: Normalisation,
  out: Float32Array,
  offset = 0,
): void {
  const { width: inW, height: inH, pixels: px, channels: ch } = src;
  // Byte offsets of R, G, B within one pixel (grey images read channel 0 three times).
  const g1 = ch === 1 ? 0 : 1, g2 = ch === 1 ? 0 : 2;
  if (out.length < offset + 3 * outW * outH) {
    throw new Error(`toNormalisedCHW: output too small for 3x${outH}x${outW} at ${offset}`);
  }
  const plane = outW * outH;
  const scale = [0, 1, 2].map((c) => 1 / (255 * norm.std[c]));
  const shift = [0, 1, 2].map((c) => norm.mean[c] / norm.std[c]);
  if (inW === outW && inH === outH) {
    for (let p = 0; p < plane; p++) {
      const q = p * ch;
      out[offset + p] = px[q] * scale[0] - shift[0];
      out[offset + plane + p] = px[q + g1] * scale[1] - shift[1];
      out[offset + 2 * plane + p] = px[q + g2] * scale[2] - shift[2];
    }
    return;
  }
  // Horizontal pass: inH rows x outW columns x 3 channels.
  const tx = filterTable(inW, outW);
  const tmp = new Float32Array(inH * outW * 3);
  for (let y = 0; y < inH; y++) {
    const row = y * inW * ch;
    for (let x = 0; x < outW; x++) {
      let r = 0, g = 0, b = 0;
      const s = tx.start[x], n = tx.count[x], wo = x * tx.maxTaps;
      for (let k = 0; k < n; k++) {
        const w = tx.weights[wo + k];
        const q = row + (s + k) * ch;
        r += w * px[q];
        g += w * px[q + g1];
        b += w * px[q + g2];
      }
      const t = (y * outW + x) * 3;
      tmp[t] = r;
      tmp[t + 1] = g;
      tmp[t + 2] = b;
    }
  }
  // Vertical pass straight into the normalised output planes.
  const ty = filterTable(inH, outH);
  for (let y = 0; y < outH; y++) {
    const s = ty.start[y], n = ty.count[y], wo = y * ty.maxTaps;
    for (let x = 0; x < outW; x++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < n; k++) {
        const w = ty.weights[wo + k];
        const t = ((s + k) * outW + x) * 3;
        r += w * tmp[t];
        g += w * tmp[t + 1];
        b += w * tmp[t + 2];
      }
      const p = y * outW + x;
      out[offset + p] = r * scale[0] - shift[0];
      out[offset + plane + p] = g * scale[1] - shift[1];
      out[offset + 2 * plane + p] = b * scale[2] - shift[2];
    }
  }
}

/** Reads, decodes, resizes and normalises one image file into `out` at `offset`. */
export async function loadImageFile(
  filepath: string,
  outW: number,
  outH: number,
  norm: Normalisation,
  out: Float32Array,
  offset = 0,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(filepath);
  } catch (e) {
    throw new ImageDecodeError(filepath, e);
  }
  const img = await decodeImage(bytes, filepath);
  toNormalisedCHW(img, outW, outH, norm, out, offset);
}

/**
 * Loads one image file and applies a flip set (see augment.ts), writing CHW into `out` at
 * `offset`. `scratch` (3*w*h floats) avoids an allocation per image when flipping.
 */
export async function loadAugmentedImage(
  filepath: string,
  size: number,
  norm: Normalisation,
  flags: number,
  out: Float32Array,
  offset: number,
  scratch: Float32Array,
): Promise<void> {
  if (flags === 0) return loadImageFile(filepath, size, size, norm, out, offset);
  await loadImageFile(filepath, size, size, norm, scratch, 0);
  applyFlips(scratch, 0, out, offset, 3, size, size, flags);
}
