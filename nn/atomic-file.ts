/**
 * Atomic, durable file writes, for checkpoints, weights, preprocessed images and lock files.
 *
 * The bytes go to a temporary file of a name no other writer uses (process id, a counter and a
 * random part), which is flushed to disk (fsync) before it is renamed over the target, and the
 * folder is flushed after the rename. So a reader sees the old file or the whole new one, two
 * runs writing the same path never mix their bytes, and a power cut right after the write does
 * not leave an empty or half-written file behind the new name. Lives in nn/ because that is the
 * lowest layer that writes files (safetensors); data/ and experiments/ use it too.
 */

import { dirname } from "node:path";

let written = 0;

/** A temporary name next to `path` that no other write (in this or another process) uses. */
export function temporaryPath(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${path}.${Deno.pid}-${(written++).toString(36)}-${random}.partial`;
}

/**
 * Flushes a folder's entries (the rename) to disk. Not every platform can open a folder
 * (Windows cannot); there the rename is as durable as the file system makes it.
 */
async function syncFolder(dir: string): Promise<void> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(dir, { read: true });
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the file itself is already on disk.
  } finally {
    handle.close();
  }
}

/**
 * Writes `data` to `path` atomically and durably (see the module doc). Creates the folder when
 * `mkdir` is set. On failure the temporary file is removed and the error names `path`.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  { mkdir = false }: { mkdir?: boolean } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmp = temporaryPath(path);
  try {
    if (mkdir) await Deno.mkdir(dir, { recursive: true });
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let done = 0;
      while (done < data.length) done += await file.write(data.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`cannot write ${path}: ${(err as Error).message}`);
  }
  await syncFolder(dir);
}

/** {@link writeFileAtomic} for text (UTF-8). */
export function writeTextFileAtomic(
  path: string,
  text: string,
  options: { mkdir?: boolean } = {},
): Promise<void> {
  return writeFileAtomic(path, new TextEncoder().encode(text), options);
}
