/**
 * ROC figures: the curves of one run's test sets together, and one test set's curves from many
 * runs overlaid (the report). Each curve keeps only the corners of its staircase (points on a
 * straight run between two neighbours are dropped, which changes neither the drawing nor the
 * area), so test sets of thousands of images still make small SVGs.
 */

import type { RocFile } from "../run-layout.ts";
import { type Figure, writeFigure } from "./figure.ts";
import type { TopLevelSpec } from "./render.ts";

/** One curve: `label` picks its colour and legend entry; curves sharing a label (seeds) share it. */
export interface RocSeries {
  label: string;
  /** Tells curves of one label apart (e.g. the run folder); defaults to the label. */
  id?: string;
  fpr: readonly number[];
  tpr: readonly number[];
}

/** Area under a ROC curve given as points, by the trapezoid rule (as `rocAuc`). */
export function aucOfPoints(fpr: readonly number[], tpr: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
  return area;
}

/** The curve's corners: drops each point that lies on the segment between its neighbours. */
export function rocCorners(
  fpr: readonly number[],
  tpr: readonly number[],
): { fpr: number[]; tpr: number[] } {
  if (fpr.length !== tpr.length) {
    throw new Error(
      `ROC: ${fpr.length} false-positive rates for ${tpr.length} true-positive rates`,
    );
  }
  const out = { fpr: [] as number[], tpr: [] as number[] };
  for (let i = 0; i < fpr.length; i++) {
    const last = out.fpr.length - 1;
    if (i > 0 && i < fpr.length - 1 && last >= 0) {
      const cross = (fpr[i] - out.fpr[last]) * (tpr[i + 1] - out.tpr[last]) -
        (tpr[i] - out.tpr[last]) * (fpr[i + 1] - out.fpr[last]);
      if (Math.abs(cross) < 1e-12) continue;
    }
    out.fpr.push(fpr[i]);
    out.tpr.push(tpr[i]);
  }
  return out;
}

function checkSeries(s: RocSeries): void {
  if (s.fpr.length < 2 || s.fpr.length !== s.tpr.length) {
    throw new Error(
      `ROC "${s.label}": needs matching fpr/tpr lists of 2 or more points, ` +
        `got ${s.fpr.length} and ${s.tpr.length}`,
    );
  }
  for (const v of [...s.fpr, ...s.tpr]) {
    if (!(v >= 0 && v <= 1)) throw new Error(`ROC "${s.label}": rate ${v} outside [0, 1]`);
  }
}

/** The Vega-Lite spec of ROC curves with the chance diagonal. */
export function rocSpec(series: readonly RocSeries[], title: string): TopLevelSpec {
  if (series.length === 0) throw new Error(`ROC "${title}": no curves to draw`);
  const values: { id: string; label: string; i: number; fpr: number; tpr: number }[] = [];
  for (const s of series) {
    checkSeries(s);
    const c = rocCorners(s.fpr, s.tpr);
    c.fpr.forEach((f, i) =>
      values.push({ id: s.id ?? s.label, label: s.label, i, fpr: f, tpr: c.tpr[i] })
    );
  }
  const unit = { domain: [0, 1] };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: 320,
    height: 320,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: "line", strokeDash: [4, 4], color: "#999", strokeWidth: 1 },
        encoding: {
          x: { field: "x", type: "quantitative", scale: unit },
          y: { field: "y", type: "quantitative", scale: unit },
        },
      },
      {
        data: { values },
        mark: { type: "line", strokeWidth: 2, interpolate: "linear" },
        encoding: {
          x: { field: "fpr", type: "quantitative", title: "false-positive rate", scale: unit },
          y: { field: "tpr", type: "quantitative", title: "true-positive rate", scale: unit },
          color: {
            field: "label",
            type: "nominal",
            title: null,
            sort: [...new Set(series.map((s) => s.label))],
            legend: { orient: "bottom", columns: 1 },
          },
          detail: { field: "id", type: "nominal" },
          order: { field: "i", type: "quantitative" },
        },
      },
    ],
  } as TopLevelSpec;
}

/** One run's ROC curves, one per test set, labelled with their AUC: `<dir>/<name>.svg|png`. */
export async function plotRocCurves(
  roc: RocFile,
  dir: string,
  o: { name?: string; title?: string } = {},
): Promise<Figure> {
  const series = Object.entries(roc).map(([set, c]) => ({
    label: `${set} (AUC ${aucOfPoints(c.fpr, c.tpr).toFixed(3)})`,
    fpr: c.fpr,
    tpr: c.tpr,
  }));
  return await writeFigure(dir, o.name ?? "roc", rocSpec(series, o.title ?? "ROC per test set"));
}

/** One test set's curves from many runs: `<dir>/<name>.svg|png`. */
export async function plotRocOverlay(
  series: readonly RocSeries[],
  dir: string,
  name: string,
  title: string,
): Promise<Figure> {
  return await writeFigure(dir, name, rocSpec(series, title));
}
