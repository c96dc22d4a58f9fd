/**
 * Writing experiment results: atomically (`<name>.partial` then rename, so a reader never sees
 * half a table), as JSON and Markdown side by side, plus the small table formatting both
 * experiment reports use.
 */

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { meanSd } from "./statistics.ts";

export { meanSd };

/** Writes `text` to `path` via `path.partial` and a rename. */
export function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
}

/** Writes `<dir>/<base>.json` and `<dir>/<base>.md`; returns both paths. */
export function writeReport(dir: string, base: string, json: unknown, markdown: string): string[] {
  const paths = [join(dir, `${base}.json`), join(dir, `${base}.md`)];
  writeAtomic(paths[0], JSON.stringify(json, null, 2) + "\n");
  writeAtomic(paths[1], markdown.endsWith("\n") ? markdown : markdown + "\n");
  return paths;
}

/** A Markdown table from a header and rows of cells. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]) {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** "0.812" or "0.812 ± 0.013" (several seeds); "—" for none. */
export function formatMeanSd(values: readonly number[], digits = 3): string {
  if (values.length === 0) return "—";
  const { mean, sd, n } = meanSd(values);
  return n > 1 ? `${mean.toFixed(digits)} ± ${sd.toFixed(digits)}` : mean.toFixed(digits);
}
