/** A figure on disk: `<name>.svg` beside `<name>.png`, both written atomically. */

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../nn/atomic-file.ts";
import { writeAtomic } from "../results-files.ts";
import { rasterise } from "./rasterise.ts";
import { fileStem } from "./names.ts";
import { renderSvg, type TopLevelSpec } from "./render.ts";

/** What {@link writeFigure} wrote; `svg` is the document itself, for pages that inline it. */
export interface Figure {
  name: string;
  svg: string;
  svgPath: string;
  pngPath: string;
}

/** Renders `spec` and writes `<dir>/<name>.svg` and `<dir>/<name>.png` (twice the SVG's size). */
export async function writeFigure(dir: string, name: string, spec: TopLevelSpec): Promise<Figure> {
  const stem = fileStem(name);
  const svg = await renderSvg(spec);
  const png = await rasterise(svg);
  mkdirSync(dir, { recursive: true });
  const svgPath = join(dir, `${stem}.svg`);
  const pngPath = join(dir, `${stem}.png`);
  writeAtomic(svgPath, svg);
  await writeFileAtomic(pngPath, png);
  return { name: stem, svg, svgPath, pngPath };
}
