/**
 * Checks on label CSV rows before they become records: image names must stay inside their image
 * folder, and an image listed twice must not be counted twice or carry two labels.
 *
 * Why: an `image_name` of `../../etc/passwd` made the loader read outside `--image-dir`; a test
 * CSV with a repeated row double-counted that image in every metric; a training image listed
 * with targets 0 and 1 was trained on with both. The study's skew duplication (data/labels.ts)
 * is the one intended source of repeated training rows, and it runs after these checks.
 */

import { isAbsolute, posix, relative, resolve } from "node:path";

/**
 * `folder/name`, after checking that `name` is a plain relative path that stays inside
 * `folder`; otherwise an error naming the CSV, the row and the name.
 */
export function imagePathInside(folder: string, name: string, where: string): string {
  const refuse = (why: string) => new Error(`${where}: image name "${name}" ${why}`);
  if (name.trim() === "") throw refuse("is empty");
  if (name.includes("\0")) throw refuse("contains a NUL character");
  const slashed = name.replaceAll("\\", "/");
  if (slashed.startsWith("/") || /^[a-zA-Z]:/.test(slashed) || isAbsolute(name)) {
    throw refuse(`is an absolute path; names must be relative to ${folder}`);
  }
  const normal = posix.normalize(slashed);
  const root = resolve(folder);
  const rel = relative(root, resolve(root, normal));
  if (normal === ".." || normal.startsWith("../") || rel.startsWith("..") || isAbsolute(rel)) {
    throw refuse(`resolves outside the image folder ${folder}`);
  }
  return `${folder}/${normal}`;
}

/** One parsed row as the duplicate check sees it. */
export interface KeyedRow<T> {
  /** The image it names. */
  key: string;
  /** The labels it gives the image, compared as text ("target=1, marked=0"). */
  labels: string;
  /** The whole row as text, to tell an exact repeat from a partial one. */
  raw: string;
  value: T;
}

/**
 * Keeps the first row of each image. A later row of an image that gives it other labels is an
 * error naming both rows; an exact repeat is dropped; a row with the same labels but other
 * columns different (another year or tfrecord of one training image) is dropped too, unless
 * `relisted` is "keep" (the study's year and tfrecord filters then choose between them). `warn`
 * hears of them once per file. Rows are 1-based in messages.
 */
export function dropRepeatedImages<T>(
  rows: readonly KeyedRow<T>[],
  file: string,
  warn: (message: string) => void,
  relisted: "drop" | "keep" = "drop",
): T[] {
  const first = new Map<string, number>();
  const kept: T[] = [];
  const repeats: string[] = [];
  rows.forEach((row, i) => {
    const j = first.get(row.key);
    if (j === undefined) {
      first.set(row.key, i);
      kept.push(row.value);
      return;
    }
    const earlier = rows[j];
    if (earlier.labels !== row.labels) {
      throw new Error(
        `${file}: image ${row.key} has contradictory labels: row ${j + 1} says ` +
          `${earlier.labels}, row ${i + 1} says ${row.labels}`,
      );
    }
    const exact = earlier.raw === row.raw;
    repeats.push(`row ${i + 1} ${exact ? "repeats" : "relists"} row ${j + 1}`);
    if (!exact && relisted === "keep") kept.push(row.value);
  });
  if (repeats.length > 0) {
    const shown = repeats.slice(0, 5).join("; ") + (repeats.length > 5 ? "; ..." : "");
    const what = relisted === "keep"
      ? "exact repeats are kept once, rows that differ elsewhere are kept"
      : "each image is kept once";
    warn(
      `${file}: ${repeats.length} row(s) list an image already listed with the same labels ` +
        `(${shown}); ${what}`,
    );
  }
  return kept;
}
