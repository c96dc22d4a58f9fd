/**
 * `download`: fetches the annotation CSVs and every selected dataset, then
 * centre-crops and resizes the images into `<dir>/images/<folder>_<size>/`.
 *
 * Safe to rerun: archives resume from `.partial` files, finished datasets
 * carry a `.done.json` marker and are skipped, and existing outputs are kept.
 * It never deletes anything under `<dir>/images`. One dataset failing (or a
 * manual archive missing) does not stop the others; the closing table says
 * what each ended as.
 *
 * Nothing is accepted unchecked: every file's sha256 is recorded on first
 * download in `<dir>/download-lock.json` and held to it afterwards, a new
 * archive's CRCs are all checked, annotation CSVs must have complete rows and
 * the study's row counts, and a dataset with fewer images than expected is a
 * failure unless `allowIncomplete` is set.
 */
import { join } from "node:path";
import { writeTextFileAtomic } from "../nn/atomic-file.ts";
import {
  ANNOTATION_CSVS,
  type AnnotationCsv,
  CATALOG,
  type DatasetEntry,
  imageFolder,
  selectDatasets,
} from "./catalog.ts";
import { parseCsv, requireColumns } from "./csv.ts";
import { baseUrlRewriter } from "./http-download.ts";
import { DownloadLock, lockedDownload } from "./download-lock.ts";
import { describe, fetchUrlList, obtainArchive, type SourceContext } from "./download-sources.ts";
import { folderImageItems, type ImageItems, isImageName, zipImageItems } from "./image-items.ts";
import { preprocessAll } from "./preprocess.ts";
import { assertSafeEntries, ZipReader } from "./zip-extract.ts";

export interface DownloadOptions {
  /** Dataset names from the catalog (default: all). */
  only?: string[];
  /** Side of the square output images (default 256). */
  imageSize?: number;
  /** Data root holding csv/, raw_images/ and images/ (default ./data). */
  dir?: string;
  /** Preprocessing workers (default: min(8, CPU count)). */
  workers?: number;
  /** Send every request to this base URL as `<base>/<host><path>` (tests, mirrors). */
  baseUrlOverride?: string;
  /** Replaces the built-in catalog. */
  catalog?: readonly DatasetEntry[];
  /** Replaces the built-in list of annotation CSVs. */
  annotationCsvs?: readonly AnnotationCsv[];
  /** Folder of the private Heidelberg sets (else the HEIDELBERG_DIR variable). */
  heidelbergDir?: string;
  env?: { get(name: string): string | undefined };
  fetch?: typeof fetch;
  retries?: number;
  retryDelayMs?: number;
  /** Progress bars (default true). */
  progress?: boolean;
  progressWrite?: (text: string) => void;
  /** Where messages go (default console.log). */
  log?: (line: string) => void;
  /**
   * Accept a dataset with fewer images than the catalog expects (corrupt or unreachable images,
   * or images dropped because another of the same name came first) instead of failing it.
   */
  allowIncomplete?: boolean;
}

/** One line of the closing table. */
export interface SummaryRow {
  dataset: string;
  found: number;
  expected: number;
  status: string;
  /** False when something went wrong (not for a missing manual or private download). */
  ok: boolean;
}

export interface DownloadReport {
  rows: SummaryRow[];
  csvErrors: string[];
  ok: boolean;
}

interface Ctx extends SourceContext {
  size: number;
  workers: number;
  heidelbergDir?: string;
  allowIncomplete: boolean;
}

/** Written next to a finished dataset's images; a rerun that finds it skips the dataset. */
interface DoneMarker {
  dataset: string;
  imageSize: number;
  images: number;
  expected: number;
  corrupt: string[];
  failed: string[];
  source: string;
  finishedAt: string;
}

const MARKER = ".done.json";

/** Counts image files under a folder, recursively (0 when it does not exist). */
export async function countImages(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) n += await countImages(join(dir, e.name));
      else if (e.isFile && isImageName(e.name)) n++;
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return n;
}

async function readMarker(outDir: string): Promise<DoneMarker | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(outDir, MARKER))) as DoneMarker;
  } catch {
    return undefined;
  }
}

async function writeMarker(outDir: string, marker: DoneMarker): Promise<void> {
  await writeTextFileAtomic(join(outDir, MARKER), JSON.stringify(marker, null, 2) + "\n");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/**
 * Checks an annotation CSV's text: not a Git LFS pointer, every row complete (csv.ts refuses
 * short rows), the columns the labels need, and the study's row count where it is known.
 */
export function checkAnnotationCsv(text: string, spec: AnnotationCsv, path: string): void {
  if (text.startsWith("version https://git-lfs")) {
    throw new Error(`${path} is a Git LFS pointer, not the CSV`);
  }
  const rows = parseCsv(text, path);
  requireColumns(rows, spec.columns, path);
  if (spec.rows !== undefined && rows.length !== spec.rows) {
    throw new Error(
      `${path}: ${rows.length} data rows, but the study's ${spec.file} has ${spec.rows} ` +
        `(a download cut short?)`,
    );
  }
}

/** Fetches one annotation CSV (trying its mirrors) and checks it; a bad copy is removed. */
async function fetchAnnotationCsv(spec: AnnotationCsv, ctx: Ctx): Promise<void> {
  const dest = join(ctx.dir, "csv", spec.file);
  const errors: string[] = [];
  for (const url of spec.urls) {
    try {
      const req = { url, dest, label: spec.file, sha256: spec.sha256, size: spec.size };
      await lockedDownload(req, ctx.lock, ctx.http, ctx.log);
      try {
        checkAnnotationCsv(await Deno.readTextFile(dest), spec, dest);
      } catch (err) {
        ctx.lock.forget(dest);
        await Deno.remove(dest);
        throw err;
      }
      return;
    } catch (err) {
      errors.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new Error(errors.join("; "));
}

/**
 * Checks every CRC of an archive seen for the first time; a damaged one is forgotten by the
 * lock and, unless the user put it there by hand, removed so that a rerun fetches it again.
 */
async function verifyNewArchive(zip: ZipReader, manual: boolean, ctx: Ctx): Promise<void> {
  try {
    await zip.verify();
  } catch (err) {
    zip.close();
    ctx.lock.forget(zip.path);
    if (manual) throw err;
    await Deno.remove(zip.path).catch(() => {});
    throw new Error(`${(err as Error).message}; the archive was removed so a rerun fetches it`);
  }
}

async function processEntry(entry: DatasetEntry, ctx: Ctx): Promise<SummaryRow> {
  const outDir = imageFolder(entry, ctx.size, ctx.dir);
  const row = (status: string, ok: boolean, found: number): SummaryRow => ({
    dataset: entry.name,
    found,
    expected: entry.expectedImages,
    status,
    ok,
  });
  const marker = await readMarker(outDir);
  const before = await countImages(outDir);
  // Done before, nothing removed since, and no fetch failures worth retrying: skip.
  if (
    marker && marker.imageSize === ctx.size && before >= marker.images &&
    (marker.failed ?? []).length === 0
  ) {
    const complete = before >= entry.expectedImages;
    const corrupt = marker.corrupt?.length ? `, ${marker.corrupt.length} corrupt` : "";
    const status = `${complete ? "complete" : "incomplete"} (already done${corrupt})`;
    return row(status, complete || ctx.allowIncomplete, before);
  }
  const onClash = ctx.allowIncomplete ? "keep-first" : "error";
  let listed: ImageItems;
  let failed: string[] = [];
  let sourceName: string;
  let zip: ZipReader | undefined;
  const source = entry.sources[0];
  if (source?.kind === "local-folder") {
    const folder = ctx.heidelbergDir ?? ctx.env.get(source.envVar);
    if (!folder) {
      ctx.log(`  ${entry.name} is private: set ${source.envVar} to ${source.layout}`);
      return row(`private: set ${source.envVar}`, true, before);
    }
    if (!(await exists(folder))) throw new Error(`${source.envVar} folder not found: ${folder}`);
    listed = await folderImageItems(folder, entry.flatten, onClash);
    sourceName = folder;
  } else if (source?.kind === "url-list") {
    const fetched = await fetchUrlList(source, entry, ctx);
    failed = fetched.failed;
    listed = await folderImageItems(fetched.rawDir, true, onClash);
    sourceName = source.csvUrl;
  } else {
    const got = await obtainArchive(entry, ctx);
    if ("missing" in got) {
      for (const m of got.missing) ctx.log(`  ${m}`);
      return row("manual download needed", true, before);
    }
    try {
      zip = await ZipReader.open(got.path);
    } catch (err) {
      ctx.lock.forget(got.path);
      if (got.source.kind === "manual") throw err;
      await Deno.remove(got.path).catch(() => {});
      throw new Error(`${(err as Error).message}; the archive was removed so a rerun fetches it`);
    }
    try {
      assertSafeEntries(zip.entries, outDir, got.path);
      listed = await zipImageItems(zip, got.source.imageRoot, onClash);
      if (listed.items.length === 0) {
        throw new Error(`no images under "${got.source.imageRoot ?? "/"}" in ${got.path}`);
      }
    } catch (err) {
      zip.close();
      throw err;
    }
    if (got.firstSeen) {
      ctx.log(`  ${entry.name}: checking the CRCs of ${zip.entries.length} archive entries`);
      await verifyNewArchive(zip, got.source.kind === "manual", ctx);
    }
    sourceName = describe(got.source);
  }
  const { items, dropped } = listed;
  for (const d of dropped) ctx.log(`  ${entry.name}: dropped ${d} (another image has its name)`);
  try {
    const result = await preprocessAll({
      items,
      outDir,
      size: ctx.size,
      workers: ctx.workers,
      progress: ctx.progress,
      progressWrite: ctx.progressWrite,
      progressLabel: `${entry.name} ${ctx.size}px`,
      onCorrupt: (name, error) =>
        ctx.log(`  ${entry.name}: skipped corrupt image ${name} (${error})`),
    });
    const found = await countImages(outDir);
    await writeMarker(outDir, {
      dataset: entry.name,
      imageSize: ctx.size,
      images: found,
      expected: entry.expectedImages,
      corrupt: result.corrupt.map((c) => c.name),
      failed,
      source: sourceName,
      finishedAt: new Date().toISOString(),
    });
    const notes = [
      result.corrupt.length > 0 ? `${result.corrupt.length} corrupt` : "",
      failed.length > 0 ? `${failed.length} not fetched` : "",
      dropped.length > 0 ? `${dropped.length} dropped (name taken)` : "",
    ].filter((n) => n !== "");
    const complete = found >= entry.expectedImages;
    const status = complete ? "complete" : "incomplete";
    if (!complete && !ctx.allowIncomplete) {
      ctx.log(
        `  ${entry.name}: ${found} of ${entry.expectedImages} images; a failure unless ` +
          `--allow-incomplete is given`,
      );
    }
    return row(
      notes.length > 0 ? `${status} (${notes.join(", ")})` : status,
      complete || ctx.allowIncomplete,
      found,
    );
  } finally {
    zip?.close();
  }
}

/** Formats the closing table: dataset, images found, expected, status. */
export function formatSummary(rows: readonly SummaryRow[]): string {
  const header = ["dataset", "found", "expected", "status"];
  const short = (s: string) => (s.length > 100 ? `${s.slice(0, 97)}...` : s);
  const cells = rows.map((r) => [r.dataset, String(r.found), String(r.expected), short(r.status)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

/** Runs the whole download (see the module doc); never throws for one dataset's failure. */
export async function runDownload(options: DownloadOptions = {}): Promise<DownloadReport> {
  const size = options.imageSize ?? 256;
  if (!Number.isInteger(size) || size < 8) {
    throw new Error(`--image-size must be an integer >= 8, got ${size}`);
  }
  const catalog = options.catalog ?? CATALOG;
  const entries = selectDatasets(catalog, options.only);
  const dir = options.dir ?? "./data";
  await Deno.mkdir(dir, { recursive: true });
  const ctx: Ctx = {
    dir,
    lock: await DownloadLock.load(dir),
    allowIncomplete: options.allowIncomplete ?? false,
    size,
    workers: options.workers ?? Math.min(8, navigator.hardwareConcurrency || 1),
    env: options.env ?? Deno.env,
    heidelbergDir: options.heidelbergDir,
    log: options.log ?? ((line) => console.log(line)),
    progress: options.progress ?? true,
    progressWrite: options.progressWrite,
    http: {
      fetch: options.fetch,
      rewriteUrl: options.baseUrlOverride ? baseUrlRewriter(options.baseUrlOverride) : undefined,
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      progress: options.progress ?? true,
      progressWrite: options.progressWrite,
    },
  };
  for (const sub of ["csv", "raw_images", "images"]) {
    await Deno.mkdir(join(ctx.dir, sub), { recursive: true });
  }
  const wantedCsvs = new Set(entries.flatMap((e) => e.csvs));
  const csvErrors: string[] = [];
  for (const spec of options.annotationCsvs ?? ANNOTATION_CSVS) {
    if (!wantedCsvs.has(spec.file)) continue;
    try {
      await fetchAnnotationCsv(spec, ctx);
    } catch (err) {
      const message = `${spec.file}: ${(err as Error).message}`;
      csvErrors.push(message);
      ctx.log(`  annotation CSV failed: ${message}`);
    }
  }
  await ctx.lock.save();
  const rows: SummaryRow[] = [];
  for (const entry of entries) {
    ctx.log(`${entry.name}: ${entry.title}`);
    try {
      rows.push(await processEntry(entry, ctx).finally(() => ctx.lock.save()));
    } catch (err) {
      const message = (err as Error).message;
      ctx.log(`  ${entry.name} failed: ${message}`);
      const found = await countImages(imageFolder(entry, size, ctx.dir));
      rows.push({
        dataset: entry.name,
        found,
        expected: entry.expectedImages,
        status: `failed: ${message}`,
        ok: false,
      });
    }
  }
  ctx.log("");
  ctx.log(formatSummary(rows));
  return { rows, csvErrors, ok: csvErrors.length === 0 && rows.every((r) => r.ok) };
}
