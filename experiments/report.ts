/**
 * `report`: many `train` runs side by side, as one self-contained HTML page, a Markdown table
 * and a JSON file in one folder, with the figures also as SVG and PNG files under plots/. What
 * it holds: the study's AUC-per-test-set table (mean ± sd over seeds or folds), each method
 * against its baseline with a 95 % interval, ROC curves of every run overlaid per test set, and
 * the bias audit (plain-versus-artefact AUC gaps, linear probes of the bias labels on the frozen
 * features); training curves and saliency maps where the runs left them.
 */

import { join, relative } from "node:path";
import { plotRocOverlay, type RocSeries } from "./plots/roc.ts";
import { plotTrainingCurves } from "./plots/training.ts";
import type { ProbeAuditOptions } from "./report-audit.ts";
import { type ReportFigures, reportHtml } from "./report-html.ts";
import {
  aucTableCells,
  buildModel,
  gapCells,
  probeCells,
  type ReportModel,
  runCells,
} from "./report-model.ts";
import {
  type Configuration,
  expandRunFolders,
  groupConfigurations,
  readRun,
} from "./report-runs.ts";
import { markdownTable, writeAtomic } from "./results-files.ts";

/** Options of {@link writeReport}. */
export interface ReportOptions {
  title?: string;
  probe?: ProbeAuditOptions;
  /** Saliency maps shown per run (default 8; 0 leaves them out). */
  saliencyPerRun?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What {@link writeReport} wrote. */
export interface ReportResult {
  html: string;
  markdown: string;
  json: string;
  /** SVG and PNG files of the figures. */
  figures: string[];
  /** The AUC table in Markdown, for a terminal. */
  aucTable: string;
  model: ReportModel;
}

async function rocFigures(configs: Configuration[], sets: string[], dir: string) {
  const out: { set: string; svg: string; files: string[] }[] = [];
  for (const set of sets) {
    const series: RocSeries[] = [];
    for (const c of configs) {
      for (const r of c.runs) {
        const roc = r.roc?.[set];
        if (roc) series.push({ label: c.label, id: r.folder, fpr: roc.fpr, tpr: roc.tpr });
      }
    }
    if (series.length === 0) continue;
    const fig = await plotRocOverlay(series, dir, `roc-${set}`, `${set}: ROC`);
    out.push({ set, svg: fig.svg, files: [fig.svgPath, fig.pngPath] });
  }
  return out;
}

async function trainingFigures(configs: Configuration[], dir: string) {
  const out: (ReportFigures["training"][number] & { files: string[] })[] = [];
  for (const c of configs) {
    for (const r of c.runs) {
      if (!r.epochs?.length) continue;
      const fig = await plotTrainingCurves(r.epochs, dir, {
        name: `training-${r.config.testNo}`,
        auxNames: r.config.heads.map((h) => h.column),
      });
      out.push({
        testNo: r.config.testNo,
        configuration: c.label,
        svg: fig.svg,
        files: [fig.svgPath, fig.pngPath],
      });
    }
  }
  return out;
}

async function saliencyImages(configs: Configuration[], perRun: number) {
  const out: ReportFigures["saliency"] = [];
  if (perRun <= 0) return out;
  for (const c of configs) {
    for (const r of c.runs) {
      const files = r.saliency.slice(0, perRun);
      if (files.length === 0) continue;
      const images = await Promise.all(files.map(async (path) => ({
        name: path.slice(path.lastIndexOf("/") + 1, -".png".length),
        png: await Deno.readFile(path),
      })));
      out.push({ testNo: r.config.testNo, configuration: c.label, images });
    }
  }
  return out;
}

function markdown(m: ReportModel, rocFiles: { set: string; png: string }[]): string {
  const table = (cells: { header: string[]; rows: string[][] }) =>
    markdownTable(cells.header, cells.rows);
  const parts = [`# ${m.title}`, "", `Generated ${m.generated}.`, "", "## AUC per test set", ""];
  parts.push(table(aucTableCells(m)), "");
  if (m.comparisons.length) {
    parts.push("## Against the baseline", "");
    for (const c of m.comparisons) {
      parts.push(`AUC difference, paired over ${c.unitName}s:`, "", c.difference, "");
    }
  }
  if (rocFiles.length) {
    parts.push("## ROC curves", "", ...rocFiles.map((r) => `![${r.set}](${r.png})`), "");
  }
  parts.push("## Bias audit", "");
  if (m.gapRows.length) {
    parts.push("AUC gap (plain minus artefact set, lower is better):", "", table(gapCells(m)), "");
  }
  for (const c of m.comparisons.filter((c) => c.recovery)) {
    parts.push(`Share of ${c.baseline}'s drop won back:`, "", c.recovery, "");
  }
  if (m.probes.length) {
    parts.push(
      "Linear probes on the frozen features (for a bias label lower is better):",
      "",
      table(probeCells(m)),
      "",
    );
  }
  parts.push("## Runs", "", table(runCells(m)));
  return parts.join("\n") + "\n";
}

/**
 * Reads the run folders (or folders of run folders), writes `<outDir>/report.html`,
 * `report.md`, `report.json` and `plots/`, and returns the paths and the AUC table.
 */
export async function writeReport(
  runFolders: readonly string[],
  outDir: string,
  o: ReportOptions = {},
): Promise<ReportResult> {
  const log = o.log ?? (() => {});
  const folders = expandRunFolders(runFolders);
  log(`report: reading ${folders.length} run folder(s)`);
  const runs = [];
  for (const folder of folders) runs.push(await readRun(folder));
  const configs = groupConfigurations(runs);
  log(`report: ${configs.length} configuration(s); fitting the bias probes`);
  const model = buildModel(configs, { title: o.title, probe: o.probe });
  const plots = join(outDir, "plots");
  log("report: drawing the figures");
  const roc = await rocFigures(configs, model.sets, plots);
  const training = await trainingFigures(configs, plots);
  const saliency = await saliencyImages(configs, o.saliencyPerRun ?? 8);
  const paths = {
    html: join(outDir, "report.html"),
    markdown: join(outDir, "report.md"),
    json: join(outDir, "report.json"),
  };
  const rocFiles = roc.map((r) => ({ set: r.set, png: relative(outDir, r.files[1]) }));
  writeAtomic(paths.markdown, markdown(model, rocFiles));
  writeAtomic(paths.html, reportHtml(model, { roc, training, saliency }));
  writeAtomic(paths.json, JSON.stringify(model, null, 2) + "\n");
  const cells = aucTableCells(model);
  return {
    ...paths,
    figures: [...roc, ...training].flatMap((f) => f.files),
    aucTable: markdownTable(cells.header, cells.rows),
    model,
  };
}
