/**
 * The pictures of a train run, in its plots folder: ROC curves of every test set in one figure,
 * the loss and validation-AUC curves per epoch (per fold under --cv), and saliency maps of a few
 * images of each test set (|d score / d input|, beside the image), drawn by the plotting
 * modules (experiments/plots/, experiments/saliency.ts) from the files the run wrote.
 */

import type { Normalisation } from "../data/image-decode.ts";
import type { Backend } from "../gpu/backend.ts";
import type { DebiasNetwork } from "../debias/train-step.ts";
import { plotRocCurves } from "./plots/roc.ts";
import { plotTrainingCurves } from "./plots/training.ts";
import type { EpochRecord, RocFile } from "./run-layout.ts";
import { writeSaliencyMaps } from "./saliency.ts";
import type { SetEvaluation } from "./train-evaluate.ts";

export interface FigureInputs {
  plotsDir: string;
  title: string;
  roc: RocFile;
  records: readonly EpochRecord[];
  auxNames: readonly string[];
  /** The model the saliency maps explain, and the sets whose picked images they show. */
  net: DebiasNetwork;
  evals: readonly SetEvaluation[];
  normalisation: Normalisation;
  backend: Backend;
}

/** Draws every figure; returns the paths written (SVG and PNG of each plot, saliency PNGs). */
export async function writeRunFigures(o: FigureInputs): Promise<string[]> {
  const paths: string[] = [];
  if (Object.keys(o.roc).length > 0) {
    const roc = await plotRocCurves(o.roc, o.plotsDir, { title: `ROC per test set: ${o.title}` });
    paths.push(roc.svgPath, roc.pngPath);
  }
  if (o.records.length > 0) {
    const curves = await plotTrainingCurves(o.records, o.plotsDir, {
      title: `Training: ${o.title}`,
      auxNames: o.auxNames,
    });
    paths.push(curves.svgPath, curves.pngPath);
  }
  const modules = [o.net.encoder, o.net.main];
  const wasTraining = modules.map((m) => m.training);
  modules.forEach((m) => m.eval());
  try {
    for (const e of o.evals) {
      if (e.picked.indices.length === 0) continue;
      paths.push(
        ...await writeSaliencyMaps(
          o.plotsDir,
          e.name,
          (x) => o.net.main.forward(o.net.encoder.forward(x)),
          e.picked.images,
          e.picked.shape,
          { normalisation: o.normalisation, backend: o.backend },
        ),
      );
    }
  } finally {
    for (const m of [...modules, ...o.net.heads.map((h) => h.module)]) m.zeroGrad();
    modules.forEach((m, i) => m.train(wasTraining[i]));
  }
  return paths;
}
