/**
 * The download lock file, `<data dir>/download-lock.json`: the sha256 and size of every file
 * the download command fetched (archives, annotation CSVs, per-image downloads), recorded the
 * first time each was seen.
 *
 * Why: no host of the study's data publishes a checksum we can rely on (figshare's MD5 is the
 * exception), so the catalog cannot say what the bytes should be. Trust on first use is the next
 * best thing: once a file is recorded, every later run that uses it, and `download --verify`,
 * notices when it changed (a corrupted disk, a host that now serves something else). A changed
 * file that can be fetched again is; when the host then serves bytes other than the recorded
 * ones, the download fails and says how to accept the new file (delete its entry).
 */

import { isAbsolute, join, relative, sep } from "node:path";
import { writeTextFileAtomic } from "../nn/atomic-file.ts";
import {
  downloadFile,
  type DownloadRequest,
  type DownloadResult,
  hashFile,
  type HttpContext,
  redactUrl,
} from "./http-download.ts";

/** The lock file's name inside the data folder. */
export const LOCK_FILE = "download-lock.json";

/** What is known about one file. */
export interface LockEntry {
  sha256: string;
  size: number;
  /** Where it came from (a redacted URL, or "manual"). */
  source: string;
  /** ISO time of the first recording. */
  recorded: string;
}

interface LockJson {
  version: 1;
  note: string;
  files: Record<string, LockEntry>;
}

const NOTE = "sha256 of every downloaded file, recorded on its first download; a file that no " +
  "longer matches is fetched again or reported. Delete an entry to accept a new version.";

function isEntry(v: unknown): v is LockEntry {
  const e = v as LockEntry;
  return typeof v === "object" && v !== null && /^[0-9a-f]{64}$/.test(e.sha256) &&
    Number.isSafeInteger(e.size) && e.size >= 0 && typeof e.source === "string" &&
    typeof e.recorded === "string";
}

/** The lock of one data folder; keys are paths relative to it, with forward slashes. */
export class DownloadLock {
  readonly path: string;
  readonly #dir: string;
  readonly #files: Map<string, LockEntry>;
  #dirty = false;

  private constructor(dir: string, files: Map<string, LockEntry>) {
    this.#dir = dir;
    this.path = join(dir, LOCK_FILE);
    this.#files = files;
  }

  /** Reads `<dir>/download-lock.json` (an empty lock when there is none yet). */
  static async load(dir: string): Promise<DownloadLock> {
    const path = join(dir, LOCK_FILE);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return new DownloadLock(dir, new Map());
      throw new Error(`cannot read the download lock ${path}: ${(err as Error).message}`);
    }
    let parsed: LockJson;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(
        `${path} is not valid JSON (${(err as Error).message}); fix or delete it (deleting ` +
          `it forgets the recorded checksums)`,
      );
    }
    const files = new Map<string, LockEntry>();
    for (const [key, entry] of Object.entries(parsed?.files ?? {})) {
      if (!isEntry(entry)) throw new Error(`${path}: entry "${key}" is not {sha256, size, ...}`);
      files.set(key, entry);
    }
    return new DownloadLock(dir, files);
  }

  /** The lock key of a path inside the data folder. */
  key(path: string): string {
    const rel = relative(this.#dir, path);
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new Error(`${path} is outside the data folder ${this.#dir}`);
    }
    return rel.split(sep).join("/");
  }

  get(path: string): LockEntry | undefined {
    return this.#files.get(this.key(path));
  }

  /** Every recorded file: its path (inside the data folder) and entry. */
  entries(): [string, LockEntry][] {
    return [...this.#files].map(([k, e]) => [join(this.#dir, k), e]);
  }

  /** Records a file seen for the first time (an existing entry is kept); call save() after. */
  record(path: string, sha256: string, size: number, source: string): void {
    const key = this.key(path);
    if (this.#files.has(key)) return;
    this.#files.set(key, { sha256, size, source, recorded: new Date().toISOString() });
    this.#dirty = true;
  }

  /** Forgets a file (a dataset's per-image file that is gone for good). */
  forget(path: string): void {
    if (this.#files.delete(this.key(path))) this.#dirty = true;
  }

  /** "download-lock.json (recorded 2026-...)": where an expected checksum came from. */
  describe(path: string): string | undefined {
    const e = this.get(path);
    return e ? `${this.path}, recorded ${e.recorded}` : undefined;
  }

  /** Writes the lock atomically when something was recorded since the last save. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const files = Object.fromEntries([...this.#files].sort(([a], [b]) => (a < b ? -1 : 1)));
    const json: LockJson = { version: 1, note: NOTE, files };
    await writeTextFileAtomic(this.path, JSON.stringify(json, null, 2) + "\n");
    this.#dirty = false;
  }
}

/** What {@link checkRecorded} found for a file already on disk. */
export type RecordedState = "matches" | "changed" | "first-seen";

/**
 * Compares a file on disk with its lock entry: "matches", "changed" (size or sha256 differ) or
 * "first-seen" (no entry yet; recorded now, call save() after).
 */
export async function checkRecorded(
  path: string,
  lock: DownloadLock,
  source: string,
): Promise<RecordedState> {
  const known = lock.get(path);
  const size = (await Deno.stat(path)).size;
  if (known && known.size !== size) return "changed";
  const { sha256 } = await hashFile(path);
  if (!known) {
    lock.record(path, sha256, size, source);
    return "first-seen";
  }
  return known.sha256 === sha256 ? "matches" : "changed";
}

/**
 * `downloadFile` held to the lock: a file with an entry must match it (a local copy that does
 * not is fetched again, and the new bytes must match too); a file without one is recorded.
 * Checksums the request brings (the catalog's) take precedence over the lock's.
 */
export async function lockedDownload(
  req: DownloadRequest,
  lock: DownloadLock,
  http: HttpContext,
  log: (line: string) => void = () => {},
): Promise<DownloadResult> {
  const known = lock.get(req.dest);
  const fromLock = !req.sha256 && known !== undefined;
  if (fromLock && (await Deno.stat(req.dest).then(() => true, () => false))) {
    if ((await checkRecorded(req.dest, lock, req.url)) === "matches") {
      return {
        path: req.dest,
        bytes: known.size,
        skipped: true,
        resumed: false,
        sha256: known.sha256,
      };
    }
    log(`  ${req.dest} differs from the copy recorded ${known.recorded}; fetching it again`);
  }
  const checksumSource = fromLock
    ? `${lock.path}, recorded ${known.recorded}; if the host changed the file on purpose, ` +
      `delete the entry "${lock.key(req.dest)}" there to accept it`
    : req.checksumSource ?? (req.sha256 ? "the catalog" : undefined);
  const result = await downloadFile({
    ...req,
    sha256: req.sha256 ?? known?.sha256,
    size: req.size ?? known?.size,
    checksumSource,
  }, http);
  lock.record(req.dest, result.sha256, result.bytes, redactUrl(req.url));
  return result;
}
