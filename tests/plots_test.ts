import { imagescript } from "../data/image-decode.ts";
import { rocAuc, rocCurve } from "../experiments/metrics.ts";
import {
  aucOfPoints,
  plotRocCurves,
  plotRocOverlay,
  rocCorners,
} from "../experiments/plots/roc.ts";
import { plotTrainingCurves } from "../experiments/plots/training.ts";
import type { EpochRecord, RocFile } from "../experiments/run-layout.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { parseSvg, type SvgElement } from "./support/svg.ts";

function scores(n: number, separation: number, seed: number) {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const targets = Array.from({ length: n }, (_, i) => i % 2);
  return { scores: targets.map((t) => next() + separation * t), targets };
}

function curve(n: number, separation: number, seed: number) {
  const d = scores(n, separation, seed);
  return rocCurve(d.scores, d.targets);
}

/** Paths drawn by the line marks of a layer (one path per curve). */
function linePaths(elements: SvgElement[], markClass: string): SvgElement[] {
  return elements.filter((e) =>
    e.name === "path" && e.classes.some((c) => c.includes("mark-line") && c.includes(markClass))
  );
}

function texts(elements: SvgElement[], role: string): string[] {
  return elements.filter((e) => e.name === "text" && e.classes.some((c) => c.includes(role)))
    .map((e) => e.text);
}

async function assertPng(path: string, width: number, height: number, label: string) {
  const { Image } = await imagescript();
  const image = await Image.decode(await Deno.readFile(path));
  assertEqual([image.width, image.height], [width, height], `${label}: PNG size`);
}

function svgSize(svg: SvgElement[]): [number, number] {
  return [Number(svg[0].attrs.width), Number(svg[0].attrs.height)];
}

Deno.test("ROC corners keep the curve's area and drop only points on straight runs", () => {
  const fpr = [0, 0, 0, 0.25, 0.5, 0.5, 1];
  const tpr = [0, 0.5, 1 / 1.5, 1, 1, 1, 1];
  const c = rocCorners(fpr, tpr);
  assertEqual(c.fpr, [0, 0, 0.25, 1], "corner fpr");
  assertEqual(c.tpr, [0, 2 / 3, 1, 1], "corner tpr");
  const big = curve(600, 0.4, 3);
  const thin = rocCorners(big.fpr, big.tpr);
  if (thin.fpr.length >= big.fpr.length) throw new Error("no point was dropped from a staircase");
  const d = scores(600, 0.4, 3);
  assertClose(
    [aucOfPoints(thin.fpr, thin.tpr), aucOfPoints(big.fpr, big.tpr)],
    [rocAuc(d.scores, d.targets), rocAuc(d.scores, d.targets)],
    "AUC of the corners and of all points",
    { rtol: 1e-12, atol: 1e-12 },
  );
});

Deno.test("a run's ROC figure: one curve per test set, AUC in the legend, SVG and PNG", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sdu-plots-" });
  try {
    const roc: RocFile = { plain: curve(200, 0.6, 1), marked: curve(200, 0.2, 2) };
    const fig = await plotRocCurves(roc, dir, { title: "run 3: ROC" });
    assertEqual(fig.svgPath, `${dir}/roc.svg`, "svg path");
    const svg = parseSvg(await Deno.readTextFile(fig.svgPath));
    assertEqual(linePaths(svg, "layer_1_marks").length, 2, "curves");
    assertEqual(linePaths(svg, "layer_0_marks").length, 1, "chance diagonal");
    assertEqual(texts(svg, "role-title-text"), ["run 3: ROC"], "title");
    const legend = texts(svg, "role-legend-label");
    const plainAuc = aucOfPoints(roc.plain.fpr, roc.plain.tpr).toFixed(3);
    assertEqual(legend[0], `plain (AUC ${plainAuc})`, "legend names set and AUC");
    const [w, h] = svgSize(svg);
    await assertPng(fig.pngPath, 2 * w, 2 * h, "roc");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an overlaid ROC figure draws every run, coloured by configuration", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sdu-plots-" });
  try {
    const series = [
      { label: "baseline", id: "r1", ...curve(100, 0.3, 4) },
      { label: "baseline", id: "r2", ...curve(100, 0.3, 5) },
      { label: "CLGR", id: "r3", ...curve(100, 0.5, 6) },
    ];
    const fig = await plotRocOverlay(series, dir, "roc-marked set", "marked");
    assertEqual(fig.name, "roc-marked_set", "file stem");
    const svg = parseSvg(fig.svg);
    assertEqual(linePaths(svg, "layer_1_marks").length, 3, "one path per run");
    assertEqual(texts(svg, "role-legend-label"), ["baseline", "CLGR"], "legend per configuration");
    const colours = new Set(linePaths(svg, "layer_1_marks").map((p) => p.attrs.stroke));
    assertEqual(colours.size, 2, "two colours");
    const bad = [{ label: "broken", fpr: [0, 0.5], tpr: [0, 0.5, 1] }];
    let message = "";
    await plotRocOverlay(bad, dir, "bad", "bad").catch((e) => (message = e.message));
    if (!/ROC "broken": needs matching fpr\/tpr/.test(message)) {
      throw new Error(`mismatched ROC lists gave "${message}"`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("training curves: losses of every head and validation AUC, per fold, NaN left out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sdu-plots-" });
  try {
    const epochs: EpochRecord[] = [];
    for (const fold of [0, 1]) {
      for (const epoch of [1, 2, 3]) {
        const aux = [0.6 / epoch, 0.5 / epoch];
        epochs.push({
          epoch,
          fold,
          steps: 3,
          loss: { total: fold === 1 && epoch === 3 ? NaN : 1 / epoch, main: 0.7 / epoch, aux },
          valAuc: 0.6 + 0.05 * epoch,
          seconds: 1,
        });
      }
    }
    const fig = await plotTrainingCurves(epochs, dir, { auxNames: ["marked", "scale"] });
    const svg = parseSvg(fig.svg);
    const titles = texts(svg, "role-title-text");
    assertEqual(titles, ["loss per epoch", "validation AUC per epoch"], "panel titles");
    // 4 loss series x 2 folds in the first panel, 2 folds in the second.
    assertEqual(linePaths(svg, "concat_0_").length, 8, "loss lines");
    assertEqual(linePaths(svg, "concat_1_").length, 2, "AUC lines");
    const legend = texts(svg, "role-legend-label");
    for (const name of ["aux: marked", "aux: scale", "main", "total", "fold 1", "fold 2"]) {
      if (!legend.includes(name)) throw new Error(`legend lacks "${name}": ${legend}`);
    }
    const nanLine = linePaths(svg, "concat_0_").find((p) => (p.attrs.d ?? "").includes("NaN"));
    if (nanLine) throw new Error("a NaN loss reached the drawing");
    const [w, h] = svgSize(svg);
    await assertPng(fig.pngPath, 2 * w, 2 * h, "training");

    const noVal = epochs.filter((r) => r.fold === 0).map(({ valAuc: _, fold: __, ...r }) => r);
    const single = parseSvg((await plotTrainingCurves(noVal, dir, { name: "t2" })).svg);
    assertEqual(texts(single, "role-title-text"), ["loss per epoch"], "no validation panel");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
