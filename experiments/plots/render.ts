/**
 * Vega-Lite specifications to SVG, headless: compiled to Vega and rendered by Vega's own SVG
 * string renderer, which needs no DOM or canvas (text widths are estimated, generously). One
 * theme for every figure of the toolkit, so plots of one run and of a report look alike.
 */

import { parse, type Spec, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type { TopLevelSpec };

/** The face the rasteriser embeds; browsers fall back to their sans-serif. */
export const FIGURE_FONT = "DejaVu Sans, sans-serif";

/** Shared look: white background, the embedded font, readable sizes. */
const THEME = {
  background: "white",
  font: FIGURE_FONT,
  title: { fontSize: 14, anchor: "start" },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  view: { stroke: "#888" },
} as const;

/** Renders a Vega-Lite spec (theme applied beneath the spec's own config) to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const withTheme = { ...spec, config: { ...THEME, ...(spec.config ?? {}) } } as TopLevelSpec;
  let vegaSpec: Spec;
  try {
    vegaSpec = compile(withTheme).spec as Spec;
  } catch (e) {
    throw new Error(`plot: the Vega-Lite spec does not compile: ${(e as Error).message}`);
  }
  const view = new View(parse(vegaSpec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
