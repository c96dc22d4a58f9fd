/**
 * The uncertainty of `synth`'s tables: DeLong's test of each method against the same seed's
 * baseline on every test set (both score the same lesions), the paired difference over seeds with
 * its 95 % t-interval, and the share of the baseline's artefact drop each method wins back.
 */

import type { SkinSet } from "../data/synthetic/skin-artefacts.ts";
import { differenceTable, recoveryTable, type UnitScores } from "./comparisons.ts";
import { type DelongComparison, delongTest } from "./statistics.ts";

/** What this module needs of a run (experiments/synth.ts's SynthRun). */
export interface ComparedRun {
  method: string;
  seed: number;
  auc: Record<string, number>;
  /** DeLong's test of this run against its seed's baseline, per test set. */
  vsBaseline?: Record<string, DelongComparison>;
}

/**
 * Fills `vsBaseline` of every run of one seed that lacks it, once the seed's baseline has scores:
 * `scores` holds each finished method's logits per test set.
 */
export function attachDelong(
  seedRuns: readonly ComparedRun[],
  scores: ReadonlyMap<string, Record<string, Float32Array>>,
  tests: Readonly<Record<string, SkinSet>>,
): void {
  const base = scores.get("baseline");
  if (!base) return;
  for (const run of seedRuns) {
    const mine = scores.get(run.method);
    if (run.method === "baseline" || run.vsBaseline || !mine) continue;
    run.vsBaseline = Object.fromEntries(
      Object.keys(tests).map((s) => [s, delongTest(mine[s], base[s], tests[s].target)]),
    );
  }
}

/** The runs as comparison units (one unit per seed). */
export function synthUnits(runs: readonly ComparedRun[]): UnitScores[] {
  return runs.map((r) => ({
    method: r.method,
    unit: r.seed,
    values: r.auc,
    tests: r.vsBaseline
      ? Object.fromEntries(
        Object.entries(r.vsBaseline).map(([s, t]) => [s, { ...t }]),
      )
      : undefined,
  }));
}

/**
 * Markdown sections: each method's AUC difference to the baseline, and the share of the drop
 * from the plain set to each chosen artefact's set it recovers. Empty without a baseline.
 */
export function synthComparisonMarkdown(
  runs: readonly ComparedRun[],
  methods: readonly string[],
  testSets: readonly string[],
  artefactSets: readonly string[],
): string {
  if (!methods.includes("baseline") || methods.length < 2) return "";
  const units = synthUnits(runs);
  const seeds = new Set(runs.map((r) => r.seed)).size;
  const how = seeds > 1
    ? `mean of the per-seed paired differences with its 95 % t-interval over ${seeds} seeds; ` +
      `then how many seeds' own DeLong tests (same test lesions) found the method better (↑) or ` +
      `worse (↓) at p < 0.05`
    : "DeLong's test on the seed's test lesions: difference, 95 % interval, two-sided p";
  return [
    "## AUC difference to the baseline",
    "",
    `${how}.`,
    "",
    differenceTable(units, methods, testSets),
    "",
    "## Share of the baseline's artefact drop recovered",
    "",
    "(method's artefact-set AUC − baseline's) / (baseline's plain AUC − its artefact-set AUC), " +
    "means over seeds; the gain's interval is the paired 95 % t-interval.",
    "",
    recoveryTable(units, methods, artefactSets.map((s) => ({ plain: "plain", shifted: s }))),
    "",
  ].join("\n");
}
