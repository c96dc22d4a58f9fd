/**
 * Where a dataset's images come from before preprocessing: entries of an archive or files of a
 * folder, each with the output name it gets.
 *
 * The study's layout keeps only file names (its CSVs name images without folders), so sources
 * are flattened. Two different images of one name in different folders would then become one
 * file and the other would be lost without a word; so flattening keeps names unique: identical
 * copies (same size and CRC, or same bytes) collapse into one, different images of one name are
 * an error naming both entries, or, when the caller allows an incomplete dataset, the first is
 * kept and the others are reported as dropped.
 */

import { basename, join, relative } from "node:path";
import type { ImageItem } from "./preprocess.ts";
import type { ZipEntry, ZipReader } from "./zip-extract.ts";

/** File names we treat as images (others in an archive, like CSVs, are ignored). */
export function isImageName(name: string): boolean {
  const base = basename(name);
  return /\.(jpe?g|png)$/i.test(base) && !base.startsWith(".") && !name.includes("__MACOSX/");
}

/** What to do with two different images that flatten to one name. */
export type NameClash = "error" | "keep-first";

/** The items, and the source paths left out because another image has their name. */
export interface ImageItems {
  items: ImageItem[];
  dropped: string[];
}

interface Candidate {
  name: string;
  /** Path inside the source, for messages. */
  from: string;
  read(): Promise<Uint8Array>;
}

/**
 * Keeps the first candidate of each name; a later one is dropped silently when `same` says it
 * is the same image, else it is an error naming both (or, with "keep-first", reported).
 */
async function unique(
  candidates: Candidate[],
  same: (a: Candidate, b: Candidate) => boolean | Promise<boolean>,
  where: string,
  onClash: NameClash,
): Promise<ImageItems> {
  const first = new Map<string, Candidate>();
  const dropped: string[] = [];
  for (const c of candidates) {
    const seen = first.get(c.name);
    if (!seen) {
      first.set(c.name, c);
      continue;
    }
    if (await same(seen, c)) continue;
    if (onClash === "error") {
      throw new Error(
        `${where}: "${seen.from}" and "${c.from}" are different images that would both be ` +
          `saved as ${c.name}; keeping one would silently drop the other (rerun with ` +
          `--allow-incomplete to keep the first)`,
      );
    }
    dropped.push(c.from);
  }
  return {
    items: [...first.values()].map(({ name, read }) => ({ name, read })),
    dropped,
  };
}

/**
 * Image entries of an archive under `root` (a folder inside it, matched at any depth, e.g.
 * "release_v0/images"), flattened to their file names (see the module doc).
 */
export function zipImageItems(
  zip: ZipReader,
  root?: string,
  onClash: NameClash = "error",
): Promise<ImageItems> {
  const prefix = root ? root.replace(/^\/+|\/+$/g, "") + "/" : "";
  const byName = new Map<string, ZipEntry>();
  const candidates = zip.entries
    .filter((e) => !e.isDirectory && isImageName(e.name))
    .filter((e) => !prefix || e.name.startsWith(prefix) || e.name.includes("/" + prefix))
    .map((e) => {
      byName.set(e.name, e);
      return { name: basename(e.name), from: e.name, read: () => zip.read(e) };
    });
  const same = (a: Candidate, b: Candidate) => {
    const x = byName.get(a.from)!, y = byName.get(b.from)!;
    return x.size === y.size && x.crc32 === y.crc32;
  };
  return unique(candidates, same, zip.path, onClash);
}

async function sameBytes(a: Candidate, b: Candidate): Promise<boolean> {
  const [x, y] = await Promise.all([a.read(), b.read()]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Image files under a folder, recursively; `flatten` keeps only file names (kept unique). */
export async function folderImageItems(
  dir: string,
  flatten: boolean,
  onClash: NameClash = "error",
): Promise<ImageItems> {
  const candidates: Candidate[] = [];
  const walk = async (folder: string) => {
    const names: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(folder)) names.push(e);
    names.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const e of names) {
      const full = join(folder, e.name);
      if (e.isDirectory) await walk(full);
      else if (e.isFile && isImageName(full)) {
        const rel = relative(dir, full);
        candidates.push({
          name: flatten ? e.name : rel,
          from: rel,
          read: () => Deno.readFile(full),
        });
      }
    }
  };
  await walk(dir);
  return await unique(candidates, sameBytes, dir, onClash);
}
