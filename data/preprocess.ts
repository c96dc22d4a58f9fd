/**
 * Image preprocessing as the study did it: centre-crop to a square on the
 * shorter side, resize (default 256 px), keep the file name.
 *
 * imagescript only resizes by nearest neighbour, which aliases badly when a
 * 4000 px photo shrinks to 256 px; the study used PIL's antialiased filter.
 * So resizing here is our own area-averaging filter (exact pixel-coverage
 * weights) for shrinking and bilinear for enlarging. Images are processed in
 * parallel Web Workers; each output is written atomically, so an output that
 * exists is complete and a rerun skips it.
 */
import { Image } from "imagescript";
import { join } from "node:path";
import { writeFileAtomic as writeAtomic } from "../nn/atomic-file.ts";
import { ProgressBar } from "./progress.ts";

/** One image to process: output path relative to the dataset folder, and its bytes on demand. */
export interface ImageItem {
  name: string;
  read(): Promise<Uint8Array>;
}

export { folderImageItems, zipImageItems } from "./image-items.ts";

/** The square the study cut: side = shorter side, offset = floor of half the difference. */
export function centreCropBox(
  width: number,
  height: number,
): { x: number; y: number; side: number } {
  const side = Math.min(width, height);
  return {
    x: Math.floor((width - side) / 2),
    y: Math.floor((height - side) / 2),
    side,
  };
}

export { isImageName } from "./image-items.ts";

/** Per output index: source indices and weights along one axis. */
interface AxisWeights {
  index: Int32Array;
  weight: Float32Array;
  offsets: Int32Array;
}

function axisWeights(srcStart: number, srcLen: number, dstLen: number): AxisWeights {
  const scale = srcLen / dstLen;
  const idx: number[] = [];
  const wts: number[] = [];
  const offsets = new Int32Array(dstLen + 1);
  for (let d = 0; d < dstLen; d++) {
    offsets[d] = idx.length;
    if (scale >= 1) {
      const lo = d * scale;
      const hi = lo + scale;
      for (let s = Math.floor(lo); s < Math.min(srcLen, Math.ceil(hi)); s++) {
        const cover = Math.min(hi, s + 1) - Math.max(lo, s);
        if (cover > 1e-9) {
          idx.push(srcStart + s);
          wts.push(cover / scale);
        }
      }
    } else {
      const pos = Math.min(srcLen - 1, Math.max(0, (d + 0.5) * scale - 0.5));
      const s0 = Math.floor(pos);
      const frac = pos - s0;
      idx.push(srcStart + s0);
      wts.push(1 - frac);
      if (frac > 0 && s0 + 1 < srcLen) {
        idx.push(srcStart + s0 + 1);
        wts.push(frac);
      }
    }
  }
  offsets[dstLen] = idx.length;
  return { index: Int32Array.from(idx), weight: Float32Array.from(wts), offsets };
}

/**
 * One RGBA pixel of a resampling pass: dst[o..o+4) = the sum over output d's taps along `a` of
 * weight x src at pixel `start + index * stride` (in floats), rounded when dst holds bytes.
 */
function resamplePixel(
  src: ArrayLike<number>,
  a: AxisWeights,
  d: number,
  start: number,
  stride: number,
  dst: Float32Array | Uint8ClampedArray,
  o: number,
  round: boolean,
): void {
  let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  for (let k = a.offsets[d]; k < a.offsets[d + 1]; k++) {
    const p = start + a.index[k] * stride;
    const w = a.weight[k];
    c0 += src[p] * w;
    c1 += src[p + 1] * w;
    c2 += src[p + 2] * w;
    c3 += src[p + 3] * w;
  }
  dst[o] = round ? Math.round(c0) : c0;
  dst[o + 1] = round ? Math.round(c1) : c1;
  dst[o + 2] = round ? Math.round(c2) : c2;
  dst[o + 3] = round ? Math.round(c3) : c3;
}

/**
 * Resizes a square region (x, y, side) of an RGBA bitmap to size x size:
 * area averaging when shrinking, bilinear when enlarging.
 */
export function cropResizeRgba(
  src: Uint8Array | Uint8ClampedArray,
  width: number,
  box: { x: number; y: number; side: number },
  size: number,
): Uint8ClampedArray {
  const h = axisWeights(box.x, box.side, size);
  const v = axisWeights(box.y, box.side, size);
  // Horizontal pass over the rows of the crop: side rows x size columns.
  const mid = new Float32Array(box.side * size * 4);
  for (let r = 0; r < box.side; r++) {
    const rowBase = (box.y + r) * width * 4;
    for (let d = 0; d < size; d++) {
      resamplePixel(src, h, d, rowBase, 4, mid, (r * size + d) * 4, false);
    }
  }
  // Vertical pass down the columns of `mid`, whose rows start at the crop's top (box.y).
  const out = new Uint8ClampedArray(size * size * 4);
  for (let d = 0; d < size; d++) {
    for (let col = 0; col < size; col++) {
      resamplePixel(mid, v, d, (col - box.y * size) * 4, size * 4, out, (d * size + col) * 4, true);
    }
  }
  return out;
}

/**
 * Decodes an image, centre-crops and resizes it, and encodes it in the format
 * its file name says (JPEG quality 90, or PNG). An image already square at
 * the target size is returned byte for byte (no second JPEG loss).
 */
export async function preprocessImage(
  bytes: Uint8Array,
  name: string,
  size: number,
): Promise<Uint8Array> {
  let image: Image;
  try {
    image = await Image.decode(bytes);
  } catch (err) {
    throw new Error(`cannot decode ${name}: ${(err as Error).message}`);
  }
  const isPng = /\.png$/i.test(name);
  const sourceIsPng = bytes[0] === 0x89 && bytes[1] === 0x50;
  if (image.width === size && image.height === size && isPng === sourceIsPng) return bytes;
  const box = centreCropBox(image.width, image.height);
  const pixels = cropResizeRgba(image.bitmap, image.width, box, size);
  const out = new Image(size, size);
  out.bitmap.set(pixels);
  return isPng ? await out.encode() : await out.encodeJPEG(90);
}

/**
 * Writes through a temporary file of its own, fsynced, and a rename (nn/atomic-file.ts), so
 * readers never see half a file; creates the folder.
 */
export function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  return writeAtomic(path, data, { mkdir: true });
}

/** Outcome of a preprocessing run over one dataset. */
export interface PreprocessResult {
  written: number;
  /** Outputs that already existed and were left alone. */
  kept: number;
  corrupt: { name: string; error: string }[];
}

export interface PreprocessOptions {
  items: ImageItem[];
  outDir: string;
  size: number;
  /** Parallel Web Workers; 0 processes on the calling thread. */
  workers?: number;
  progressLabel?: string;
  progress?: boolean;
  progressWrite?: (text: string) => void;
  /** Called for each image that cannot be read or decoded. */
  onCorrupt?: (name: string, error: string) => void;
}

/** Messages between the pool and data/preprocess-worker.ts. */
export interface WorkerJob {
  id: number;
  name: string;
  outPath: string;
  size: number;
  bytes: Uint8Array;
}
export interface WorkerReply {
  id: number;
  ok: boolean;
  error?: string;
}

type Runner = (job: WorkerJob) => Promise<WorkerReply>;

function inlineRunner(): Runner {
  return async (job) => {
    try {
      await writeFileAtomic(job.outPath, await preprocessImage(job.bytes, job.name, job.size));
      return { id: job.id, ok: true };
    } catch (err) {
      return { id: job.id, ok: false, error: (err as Error).message };
    }
  };
}

/** One worker that runs one job at a time; a crashed worker is replaced. */
function workerRunner(): { run: Runner; close: () => void } {
  const spawn = () =>
    new Worker(new URL("./preprocess-worker.ts", import.meta.url), { type: "module" });
  let worker = spawn();
  return {
    run: (job) =>
      new Promise<WorkerReply>((resolve) => {
        worker.onmessage = (e: MessageEvent<WorkerReply>) => resolve(e.data);
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          worker.terminate();
          worker = spawn();
          resolve({ id: job.id, ok: false, error: `worker crashed: ${e.message}` });
        };
        const own = job.bytes.byteOffset === 0 &&
            job.bytes.byteLength === job.bytes.buffer.byteLength
          ? job.bytes
          : job.bytes.slice();
        worker.postMessage({ ...job, bytes: own }, [own.buffer as ArrayBuffer]);
      }),
    close: () => worker.terminate(),
  };
}

/** Crops and resizes every item into `outDir`, skipping outputs that exist; never deletes. */
export async function preprocessAll(options: PreprocessOptions): Promise<PreprocessResult> {
  const { items, outDir, size } = options;
  const lanes = options.workers ?? Math.min(8, navigator.hardwareConcurrency || 1);
  await Deno.mkdir(outDir, { recursive: true });
  const result: PreprocessResult = { written: 0, kept: 0, corrupt: [] };
  const bar = options.progress
    ? new ProgressBar({
      label: options.progressLabel ?? outDir,
      total: items.length,
      itemName: "img",
      write: options.progressWrite,
    })
    : undefined;
  const runners = lanes <= 0
    ? [{ run: inlineRunner(), close: () => {} }]
    : Array.from({ length: Math.min(lanes, Math.max(1, items.length)) }, workerRunner);
  const report = (name: string, error: string) => {
    result.corrupt.push({ name, error });
    options.onCorrupt?.(name, error);
  };
  let next = 0;
  const lane = async (runner: { run: Runner }) => {
    while (next < items.length) {
      const id = next++;
      const item = items[id];
      const outPath = join(outDir, item.name);
      const exists = await Deno.stat(outPath).then((s) => s.isFile, () => false);
      if (exists) {
        result.kept++;
      } else {
        let bytes: Uint8Array | undefined;
        try {
          bytes = await item.read();
        } catch (err) {
          report(item.name, (err as Error).message);
        }
        if (bytes) {
          const reply = await runner.run({ id, name: item.name, outPath, size, bytes });
          if (reply.ok) result.written++;
          else report(item.name, reply.error ?? "unknown error");
        }
      }
      bar?.increment();
    }
  };
  try {
    await Promise.all(runners.map(lane));
  } finally {
    for (const r of runners) r.close();
    bar?.finish();
  }
  return result;
}
