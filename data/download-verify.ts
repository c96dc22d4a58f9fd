/**
 * `download --verify`: checks what is on disk against `<dir>/download-lock.json` without
 * fetching anything: every recorded file must exist with its recorded size and sha256, every
 * archive must pass its own CRC-32s, and every annotation CSV must have complete rows, its
 * columns and the study's row count. Files the lock does not know yet are listed, not failed
 * (a download run records them).
 */

import { basename, join } from "node:path";
import { ANNOTATION_CSVS, type AnnotationCsv } from "./catalog.ts";
import { checkAnnotationCsv } from "./download-command.ts";
import { DownloadLock } from "./download-lock.ts";
import { hashFile } from "./http-download.ts";
import { ZipReader } from "./zip-extract.ts";

/** One checked file. */
export interface VerifyRow {
  file: string;
  status: "ok" | "changed" | "missing" | "damaged" | "unrecorded";
  detail: string;
}

export interface VerifyReport {
  rows: VerifyRow[];
  /** False when any recorded file is missing, changed or damaged. */
  ok: boolean;
}

export interface VerifyOptions {
  /** Data root (default ./data). */
  dir?: string;
  annotationCsvs?: readonly AnnotationCsv[];
  log?: (line: string) => void;
}

async function listFiles(dir: string, keep: (name: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && keep(e.name)) out.push(join(dir, e.name));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

/** What is wrong with a file's content beyond its checksum: archive CRCs, CSV rows. */
async function contentProblem(
  path: string,
  csvs: readonly AnnotationCsv[],
): Promise<string | undefined> {
  try {
    if (path.endsWith(".zip")) {
      using zip = await ZipReader.open(path);
      await zip.verify();
      return undefined;
    }
    const spec = csvs.find((c) => c.file === basename(path));
    if (spec) checkAnnotationCsv(await Deno.readTextFile(path), spec, path);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

async function checkOne(
  path: string,
  lock: DownloadLock,
  csvs: readonly AnnotationCsv[],
): Promise<VerifyRow> {
  const file = lock.key(path);
  const known = lock.get(path);
  const stat = await Deno.stat(path).catch(() => undefined);
  if (!stat) return { file, status: "missing", detail: "recorded but not on disk" };
  if (!known) {
    const problem = await contentProblem(path, csvs);
    return problem
      ? { file, status: "damaged", detail: problem }
      : { file, status: "unrecorded", detail: "not in the lock yet (a download run records it)" };
  }
  if (stat.size !== known.size) {
    return { file, status: "changed", detail: `${stat.size} bytes, recorded ${known.size}` };
  }
  const { sha256 } = await hashFile(path);
  if (sha256 !== known.sha256) {
    return {
      file,
      status: "changed",
      detail: `sha256 ${sha256}, recorded ${known.sha256} (${known.recorded})`,
    };
  }
  const problem = await contentProblem(path, csvs);
  if (problem) return { file, status: "damaged", detail: problem };
  return { file, status: "ok", detail: `sha256 matches (recorded ${known.recorded})` };
}

/** Verifies the data folder (see the module doc); prints one line per file that is not ok. */
export async function verifyDownloads(options: VerifyOptions = {}): Promise<VerifyReport> {
  const dir = options.dir ?? "./data";
  const log = options.log ?? ((line: string) => console.log(line));
  const csvs = options.annotationCsvs ?? ANNOTATION_CSVS;
  const lock = await DownloadLock.load(dir);
  const paths = new Set(lock.entries().map(([p]) => p));
  for (const p of await listFiles(join(dir, "raw_images"), (n) => n.endsWith(".zip"))) paths.add(p);
  for (const p of await listFiles(join(dir, "csv"), (n) => n.endsWith(".csv"))) paths.add(p);
  const rows: VerifyRow[] = [];
  for (const path of [...paths].sort()) rows.push(await checkOne(path, lock, csvs));
  const bad = rows.filter((r) => r.status !== "ok" && r.status !== "unrecorded");
  for (const r of rows.filter((r) => r.status !== "ok")) log(`${r.status}: ${r.file}: ${r.detail}`);
  const ok = rows.filter((r) => r.status === "ok").length;
  log(
    `download --verify: ${ok} of ${rows.length} file(s) match ${lock.path}` +
      (bad.length ? `; ${bad.length} missing, changed or damaged` : ""),
  );
  return { rows, ok: bad.length === 0 };
}
