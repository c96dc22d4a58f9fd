/**
 * Web Worker body of the data loader: decodes, resizes, normalises and flips the images of one
 * batch and posts them back as one transferred Float32Array.
 *
 * Everything random (order, flips) is decided by the main thread, so a batch is identical
 * whichever worker builds it, and identical to the main-thread path (numWorkers = 0).
 *
 * @module
 */
import { ImageDecodeError, loadAugmentedImage, type Normalisation } from "./image-decode.ts";

/** A batch job sent to a worker. */
export interface WorkerJob {
  id: number;
  size: number;
  norm: Normalisation;
  items: { filepath: string; flags: number }[];
}

/** A worker's answer: images of all items (zeros where `errors[k]` is set). */
export interface WorkerReply {
  id: number;
  images: Float32Array;
  errors: (string | null)[];
  /** Set when the job failed for a reason other than an undecodable file. */
  fatal?: string;
}

interface WorkerScope {
  onmessage: ((ev: MessageEvent<WorkerJob>) => void) | null;
  postMessage(message: WorkerReply, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = async (ev: MessageEvent<WorkerJob>) => {
  const { id, size, norm, items } = ev.data;
  const per = 3 * size * size;
  const images = new Float32Array(items.length * per);
  const scratch = new Float32Array(per);
  const errors: (string | null)[] = items.map(() => null);
  let fatal: string | undefined;
  for (let k = 0; k < items.length && fatal === undefined; k++) {
    try {
      await loadAugmentedImage(
        items[k].filepath,
        size,
        norm,
        items[k].flags,
        images,
        k * per,
        scratch,
      );
    } catch (e) {
      if (e instanceof ImageDecodeError) errors[k] = e.message;
      else fatal = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  }
  scope.postMessage({ id, images, errors, fatal }, [images.buffer]);
};
