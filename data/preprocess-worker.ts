/**
 * Web Worker that crops, resizes and writes one image per message, so the
 * CPU-heavy decode/encode runs off the main thread (see data/preprocess.ts).
 */
/// <reference lib="deno.worker" />
import {
  preprocessImage,
  type WorkerJob,
  type WorkerReply,
  writeFileAtomic,
} from "./preprocess.ts";

self.onmessage = async (e: MessageEvent<WorkerJob>) => {
  const job = e.data;
  let reply: WorkerReply;
  try {
    await writeFileAtomic(job.outPath, await preprocessImage(job.bytes, job.name, job.size));
    reply = { id: job.id, ok: true };
  } catch (err) {
    reply = { id: job.id, ok: false, error: (err as Error).message };
  }
  self.postMessage(reply);
};
