/**
 * The Colored MNIST report: our colour-randomised test accuracy per method and sigma^2 beside
 * the LNTL paper's published table (feidfoe/learning-not-to-learn), and the colour probes.
 */

import type { CmnistRun } from "./cmnist-run.ts";
import type { CmnistMethod, CmnistOptions } from "./cmnist-options.ts";
import { differenceTable, type UnitScores } from "./comparisons.ts";
import { formatMeanSd, markdownTable } from "./results-files.ts";

/** The published table: test accuracy by sigma^2. */
export const LNTL_PAPER_TABLE = {
  sigma2: [0.02, 0.025, 0.03, 0.035, 0.04, 0.045, 0.05],
  rows: {
    "Baseline": [0.4055, 0.4813, 0.5996, 0.6626, 0.7333, 0.7973, 0.845],
    "Blind Eye (TABE)": [0.6741, 0.7123, 0.7883, 0.8203, 0.8638, 0.8927, 0.9159],
    "Grey-scale baseline": [0.8374, 0.8751, 0.8996, 0.9166, 0.9325, 0.9472, 0.9596],
    "LNTL": [0.8185, 0.8854, 0.9137, 0.9306, 0.9406, 0.9555, 0.9618],
  } as Record<string, number[]>,
};

/** Which published row a method compares with (the paper's LNTL reverses the gradient). */
const PAPER_ROW: Record<CmnistMethod, string | null> = {
  "baseline": "Baseline",
  "LNTL": "LNTL",
  "LNTL+GRL": "LNTL",
  "TABE": "Blind Eye (TABE)",
  "TABE+GRL": null,
  "CLGR": null,
  "grey": "Grey-scale baseline",
};

/** The published accuracy for a method at sigma^2, or null. */
export function paperAccuracy(method: CmnistMethod, sigma2: number): number | null {
  const row = PAPER_ROW[method];
  const k = LNTL_PAPER_TABLE.sigma2.findIndex((s) => Math.abs(s - sigma2) < 1e-9);
  return row && k >= 0 ? LNTL_PAPER_TABLE.rows[row][k] : null;
}

function cells(
  o: CmnistOptions,
  runs: readonly CmnistRun[],
  value: (r: CmnistRun) => number,
): string[][] {
  return o.debiasConfig.map((method) => [
    method,
    ...o.sigma2.map((s) => {
      const mine = runs.filter((r) => r.method === method && r.sigma2 === s).map(value);
      return formatMeanSd(mine);
    }),
  ]);
}

const sigmaLabel = (s: number) => `σ²=${s.toFixed(3)}`;

/**
 * Test accuracy against the baseline: paired over seeds (95 % t-interval, and how many seeds'
 * McNemar tests on the shared test digits were significant), or one seed's McNemar test.
 */
function accuracyDifferences(o: CmnistOptions, runs: readonly CmnistRun[]): string[] {
  if (!o.debiasConfig.includes("baseline") || o.debiasConfig.length < 2) return [];
  const units: UnitScores[] = runs.map((r) => ({
    method: r.method,
    unit: r.seed,
    values: { [sigmaLabel(r.sigma2)]: r.testAccuracy },
    tests: r.vsBaseline
      ? {
        [sigmaLabel(r.sigma2)]: {
          difference: r.vsBaseline.difference,
          low: r.vsBaseline.low,
          high: r.vsBaseline.high,
          p: r.vsBaseline.p,
        },
      }
      : undefined,
  }));
  const seeds = new Set(runs.map((r) => r.seed)).size;
  return [
    "## Test accuracy: difference to the baseline",
    "",
    seeds > 1
      ? `Mean paired difference over ${seeds} seeds with its 95 % t-interval; then how many ` +
        "seeds' McNemar tests on the same test digits found the method better (↑) or worse (↓) " +
        "at p < 0.05."
      : "McNemar's exact test on the same test digits: difference, 95 % interval, two-sided p.",
    "",
    differenceTable(units, o.debiasConfig, o.sigma2.map(sigmaLabel), { testName: "McNemar" }),
    "",
  ];
}

/** The Markdown tables (also printed at the end of a run). */
export function cmnistMarkdown(o: CmnistOptions, runs: readonly CmnistRun[]): string {
  const header = ["method", ...o.sigma2.map(sigmaLabel)];
  const acc = o.debiasConfig.map((method) => [
    method,
    ...o.sigma2.map((s) => {
      const mine = runs.filter((r) => r.method === method && r.sigma2 === s)
        .map((r) => r.testAccuracy);
      const paper = paperAccuracy(method, s);
      return `${formatMeanSd(mine)} (paper ${paper === null ? "—" : paper.toFixed(3)})`;
    }),
  ]);
  const first = runs[0];
  const size = first
    ? `${first.trainSize} training / ${first.testSize} test digits, ${o.epochs} epoch(s)` +
      (o.labelAwareAux ? ", bias heads told the digit" : "")
    : "no runs yet";
  return [
    `# Colored MNIST (${size}, seeds ${o.seeds.join(",")}, lr ${o.lr}, batch ${o.batchSize})`,
    "",
    "## Colour-randomised test accuracy (ours, paper in brackets)",
    "",
    markdownTable(header, acc),
    "",
    ...accuracyDifferences(o, runs),
    "## Colour probe on frozen features (GAP of f; 10 mean colours, chance 0.100)",
    "",
    markdownTable(header, [
      ...cells(o, runs, (r) => r.colourProbe.accuracy),
      [
        "(untrained network)",
        ...o.sigma2.map((s) =>
          formatMeanSd(
            runs.filter((r) => r.sigma2 === s && r.method !== "grey")
              .map((r) => r.initialColourProbe.accuracy),
          )
        ),
      ],
    ]),
    "",
    "## Colour-bin probes (mean of R, G, B; 8 bins each)",
    "",
    markdownTable(
      header,
      cells(o, runs, (r) => r.binProbes.reduce((a, p) => a + p.accuracy, 0) / r.binProbes.length),
    ),
    "",
  ].join("\n");
}
