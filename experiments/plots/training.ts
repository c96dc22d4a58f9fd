/**
 * Training curves of a run from its epochs.jsonl: mean losses per epoch (total, main, each bias
 * head) beside the validation AUC, one line per CV fold under --cv. Non-finite losses (a run that
 * stopped on NaN) are left out of the drawing rather than breaking it.
 */

import type { EpochRecord } from "../run-layout.ts";
import { type Figure, writeFigure } from "./figure.ts";
import type { TopLevelSpec } from "./render.ts";

interface Point {
  epoch: number;
  fold: string;
  series: string;
  value: number;
}

function foldName(r: EpochRecord): string {
  return r.fold === undefined ? "run" : `fold ${r.fold + 1}`;
}

/** The Vega-Lite spec of loss and validation-AUC curves; `auxNames` names the bias heads. */
export function trainingSpec(
  epochs: readonly EpochRecord[],
  o: { title?: string; auxNames?: readonly string[] } = {},
): TopLevelSpec {
  if (epochs.length === 0) throw new Error("training curves: no epochs recorded");
  const losses: Point[] = [];
  const aucs: Point[] = [];
  for (const r of epochs) {
    const fold = foldName(r);
    const add = (series: string, value: number) => {
      if (Number.isFinite(value)) losses.push({ epoch: r.epoch, fold, series, value });
    };
    add("total", r.loss.total);
    add("main", r.loss.main);
    r.loss.aux.forEach((v, k) => add(`aux: ${o.auxNames?.[k] ?? `head ${k + 1}`}`, v));
    if (r.valAuc !== undefined && Number.isFinite(r.valAuc)) {
      aucs.push({ epoch: r.epoch, fold, series: "validation AUC", value: r.valAuc });
    }
  }
  const folds = new Set(epochs.map(foldName)).size > 1;
  const epochAxis = {
    field: "epoch",
    type: "quantitative",
    title: "epoch",
    axis: { tickMinStep: 1 },
  };
  const panel = (values: Point[], title: string, yTitle: string, colour: "series" | "fold") => ({
    title,
    width: 300,
    height: 220,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: epochAxis,
      y: { field: "value", type: "quantitative", title: yTitle, scale: { zero: false } },
      color: { field: colour, type: "nominal", title: null, legend: { orient: "bottom" } },
      detail: { field: colour === "series" ? "fold" : "series", type: "nominal" },
      ...(folds && colour === "series"
        ? {
          strokeDash: {
            field: "fold",
            type: "nominal",
            title: null,
            legend: { symbolType: "stroke", symbolStrokeWidth: 2 },
          },
        }
        : {}),
    },
  });
  const panels = [panel(losses, "loss per epoch", "mean loss", "series")];
  if (aucs.length) {
    panels.push(panel(aucs, "validation AUC per epoch", "AUC", folds ? "fold" : "series"));
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    ...(o.title ? { title: o.title } : {}),
    hconcat: panels,
    resolve: { scale: { color: "independent", strokeDash: "independent" } },
  } as TopLevelSpec;
}

/** Writes `<dir>/<name>.svg|png` (default name "training") from a run's epoch records. */
export async function plotTrainingCurves(
  epochs: readonly EpochRecord[],
  dir: string,
  o: { name?: string; title?: string; auxNames?: readonly string[] } = {},
): Promise<Figure> {
  return await writeFigure(dir, o.name ?? "training", trainingSpec(epochs, o));
}
