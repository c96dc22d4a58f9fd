/**
 * Checks that the files a real-data `train` run needs exist before any training starts, and says
 * which `deno task download` command makes a missing one: a CSV is made by the download of a
 * dataset that lists it, an image folder by the dataset whose folder it is. Each image folder is
 * listed once (not one stat per image), so checking 50,000 rows costs a few directory reads.
 */

import { basename, dirname, normalize } from "node:path";
import { CATALOG, type DatasetEntry } from "../data/catalog.ts";
import type { LabelRecord } from "../data/labels.ts";

/** Thrown when a file the run needs is missing; the message names it and the fix. */
export class MissingDataError extends Error {}

/** Where the download command puts things, so its `--dir` / `--image-size` can be repeated. */
export interface DownloadLayout {
  imageDir: string;
  imageSize: number;
}

/** The download command that makes the files of `entries` in `layout`. */
export function downloadCommand(entries: readonly DatasetEntry[], layout: DownloadLayout): string {
  const words = ["deno task download", `--only ${entries.map((e) => e.name).join(",")}`];
  if (layout.imageSize !== 256) words.push(`--image-size ${layout.imageSize}`);
  const root = dirname(normalize(layout.imageDir));
  if (basename(normalize(layout.imageDir)) === "images" && normalize(root) !== "data") {
    words.push(`--dir ${root}`);
  }
  return words.join(" ");
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Fails naming `path` and the download of the dataset that lists it, when it is missing. */
export async function requireCsv(path: string, layout: DownloadLayout): Promise<void> {
  if (await isFile(path)) return;
  const file = basename(path);
  const makers = CATALOG.filter((e) => e.csvs.includes(file) || sourceCsv(e) === file);
  const fix = makers.length
    ? `run \`${downloadCommand(makers.slice(0, 1), layout)}\`, which fetches it`
    : "it is not one of the study's CSVs; check --csv-dir";
  throw new MissingDataError(`missing CSV ${path}: ${fix}`);
}

function sourceCsv(e: DatasetEntry): string | undefined {
  const s = e.sources.find((s) => s.kind === "url-list");
  return s?.kind === "url-list" ? s.csvFile : undefined;
}

async function listFolder(folder: string): Promise<Set<string> | null> {
  const names = new Set<string>();
  try {
    for await (const e of Deno.readDir(folder)) if (e.isFile) names.add(e.name);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  return names;
}

/** The dataset entry whose image folder holds `path` (the first folder under the image root). */
function entryOfImage(path: string, layout: DownloadLayout): DatasetEntry | undefined {
  const rel = normalize(path).slice(normalize(layout.imageDir).length).replace(/^[/\\]+/, "");
  const top = rel.split(/[/\\]/)[0];
  return CATALOG.find((e) => top === `${e.folder}_${layout.imageSize}`);
}

/**
 * Fails when any record's image is missing, naming the first few, how many, and the command
 * that makes them (or `hint` for folders the download does not make, such as a user folder).
 */
export async function requireImages(
  what: string,
  records: readonly Pick<LabelRecord, "filepath">[],
  layout: DownloadLayout,
  hint?: string,
): Promise<void> {
  const missing: string[] = [];
  const byFolder = new Map<string, string[]>();
  for (const r of records) {
    const folder = dirname(r.filepath);
    const list = byFolder.get(folder) ?? [];
    list.push(r.filepath);
    byFolder.set(folder, list);
  }
  for (const [folder, paths] of byFolder) {
    const names = await listFolder(folder);
    for (const p of paths) if (!names?.has(basename(p))) missing.push(p);
  }
  if (missing.length === 0) return;
  const unique = [...new Set(missing)];
  const entry = entryOfImage(unique[0], layout);
  const fix = hint ??
    (entry
      ? `run \`${downloadCommand([entry], layout)}\``
      : `check --image-dir ${layout.imageDir} and --image-size ${layout.imageSize}`);
  const shown = unique.slice(0, 3).join(", ");
  const more = unique.length > 3 ? ` and ${unique.length - 3} more` : "";
  throw new MissingDataError(
    `${what}: ${unique.length} of ${records.length} images missing (${shown}${more}); ${fix}`,
  );
}
