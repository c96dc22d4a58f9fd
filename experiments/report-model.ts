/**
 * What the report says, computed once from the runs and then written as Markdown, HTML and
 * JSON: the AUC table of the study, the comparisons with the baseline, the AUC gaps and the
 * linear probes, each as plain rows of numbers and their formatted cells.
 */

import {
  aucGaps,
  type GapRow,
  type ProbeAuditOptions,
  type ProbeRow,
  probeRun,
} from "./report-audit.ts";
import { signed } from "./comparisons.ts";
import {
  type AucSummary,
  aucSummary,
  baselineTables,
  comparisonGroups,
  formatAuc,
  testSets,
} from "./report-compare.ts";
import type { Configuration, ReportRun } from "./report-runs.ts";
import { meanSd } from "./statistics.ts";

/** One configuration's row of the AUC table. */
export interface AucRow {
  configuration: string;
  method: string;
  testNos: string[];
  /** Per test set. */
  auc: Record<string, AucSummary | undefined>;
}

/** The comparison tables (Markdown, from comparisons.ts) of the methods under one baseline. */
export interface BaselineTables {
  baseline: string;
  /** "seed" or "fold": what the runs are paired over. */
  unitName: string;
  difference: string;
  /** Empty where no run has a plain and an artefact set. */
  recovery: string;
}

/** A configuration's AUC gaps: per artefact set, mean ± sd over its runs. */
export interface GapSummaryRow {
  configuration: string;
  gaps: Record<string, { plain: string; values: number[]; mean: number; sd: number }>;
}

export interface RunProbes {
  testNo: string;
  configuration: string;
  rows: ProbeRow[];
}

export interface ReportModel {
  title: string;
  generated: string;
  sets: string[];
  aucRows: AucRow[];
  comparisons: BaselineTables[];
  gapSets: string[];
  gapRows: GapSummaryRow[];
  runGaps: { testNo: string; configuration: string; rows: GapRow[] }[];
  probes: RunProbes[];
  runs: {
    testNo: string;
    configuration: string;
    method: string;
    seed: unknown;
    folder: string;
    checkpoint: string;
    backend: string;
    started: string;
  }[];
}

/** Builds the report's content; `probe` tunes the linear probes of the bias audit. */
export function buildModel(
  configs: readonly Configuration[],
  o: { title?: string; probe?: ProbeAuditOptions; now?: Date } = {},
): ReportModel {
  const sets = testSets(configs);
  const labelOf = new Map<ReportRun, string>();
  for (const c of configs) for (const r of c.runs) labelOf.set(r, c.label);
  const runs = configs.flatMap((c) => c.runs);
  const aucRows = configs.map((c) => ({
    configuration: c.label,
    method: c.method,
    testNos: c.runs.map((r) => r.config.testNo),
    auc: Object.fromEntries(sets.map((s) => [s, aucSummary(c, s)])),
  }));
  const comparisons = comparisonGroups(configs).map((g) => baselineTables(g, sets));
  const runGaps = runs.map((r) => ({
    testNo: r.config.testNo,
    configuration: labelOf.get(r)!,
    rows: aucGaps(r),
  }));
  const gapSets = [...new Set(runGaps.flatMap((g) => g.rows.map((row) => row.set)))];
  const gapRows: GapSummaryRow[] = configs.map((c) => {
    const gaps: GapSummaryRow["gaps"] = {};
    for (const set of gapSets) {
      const rows = c.runs.flatMap((r) =>
        aucGaps(r).filter((g) => g.set === set && Number.isFinite(g.gap))
      );
      if (rows.length === 0) continue;
      const values = rows.map((g) => g.gap);
      gaps[set] = { plain: rows[0].plain, values, ...meanSd(values) };
    }
    return { configuration: c.label, gaps };
  }).filter((row) => Object.keys(row.gaps).length > 0);
  const probes = runs.map((r) => ({
    testNo: r.config.testNo,
    configuration: labelOf.get(r)!,
    rows: probeRun(r, o.probe),
  }))
    .filter((p) => p.rows.length > 0);
  return {
    title: o.title ?? `Comparison of ${runs.length} run${runs.length === 1 ? "" : "s"}`,
    generated: (o.now ?? new Date()).toISOString(),
    sets,
    aucRows,
    comparisons,
    gapSets,
    gapRows,
    runGaps,
    probes,
    runs: runs.map((r) => ({
      testNo: r.config.testNo,
      configuration: labelOf.get(r)!,
      method: r.config.method,
      seed: r.config.options.seed,
      folder: r.folder,
      checkpoint: r.metrics.checkpoint,
      backend: r.config.backend,
      started: r.config.started,
    })),
  };
}

/** The cells of the AUC table: configuration, runs, one AUC per set. */
export function aucTableCells(m: ReportModel): { header: string[]; rows: string[][] } {
  const header = ["configuration", "runs", ...m.sets];
  const rows = m.aucRows.map((r) => {
    const first = Object.values(r.auc).find((s) => s);
    const folds = first?.basis === "folds" ? ` (${first.values.length} folds)` : "";
    return [
      r.configuration,
      r.testNos.join(", ") + folds,
      ...m.sets.map((s) => formatAuc(r.auc[s])),
    ];
  });
  return { header, rows };
}

/** The cells of the AUC-gap table (plain minus artefact, lower is better). */
export function gapCells(m: ReportModel): { header: string[]; rows: string[][] } {
  const header = ["configuration", ...m.gapSets.map((s) => `${s} gap`)];
  const rows = m.gapRows.map((r) => [
    r.configuration,
    ...m.gapSets.map((s) => {
      const g = r.gaps[s];
      if (!g) return "—";
      return g.values.length > 1 ? `${signed(g.mean)} ± ${g.sd.toFixed(3)}` : signed(g.mean);
    }),
  ]);
  return { header, rows };
}

/** The cells of the probe table. */
export function probeCells(m: ReportModel): { header: string[]; rows: string[][] } {
  const header = [
    "run",
    "configuration",
    "label",
    "classes",
    "images",
    "probe accuracy",
    "chance",
    "probe AUC",
  ];
  const rows = m.probes.flatMap((p) =>
    p.rows.map((r) => [
      p.testNo,
      p.configuration,
      r.label === "target" ? "target (diagnosis, for reference)" : r.label,
      String(r.classes),
      String(r.samples),
      r.accuracy.toFixed(3),
      r.majority.toFixed(3),
      Number.isFinite(r.auc) ? r.auc.toFixed(3) : "—",
    ])
  );
  return { header, rows };
}

/** The cells of the list of runs. */
export function runCells(m: ReportModel): { header: string[]; rows: string[][] } {
  const header = ["test-no", "configuration", "seed", "folder", "checkpoint", "backend"];
  const rows = m.runs.map((
    r,
  ) => [
    r.testNo,
    r.configuration,
    String(r.seed ?? "—"),
    r.folder,
    r.checkpoint || "—",
    r.backend || "—",
  ]);
  return { header, rows };
}
