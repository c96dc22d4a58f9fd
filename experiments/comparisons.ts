/**
 * The comparison tables every experiment prints: each method against the baseline, paired over
 * the units (seeds or folds) that share training and test data, with the 95 % t-interval of the
 * mean difference and, per unit, a test on the shared test set (DeLong's for AUCs, McNemar's for
 * accuracies); and the share of the baseline's artefact drop a method wins back. Generic over the
 * score, so `synth`, `cmnist`, `train --cv` and `report` build the same tables.
 */

import { type Interval, type PairedDifference, pairedDifference, tInterval } from "./statistics.ts";
import { markdownTable } from "./results-files.ts";

/** One method's scores on one unit (a seed or a fold) of a comparison. */
export interface UnitScores {
  method: string;
  /** Seed or fold: runs of one unit saw the same training and test data. */
  unit: number;
  /** Score per test set (AUC, accuracy, ...). */
  values: Record<string, number>;
  /** This run against the same unit's baseline on each test set (e.g. DeLong's test). */
  tests?: Record<string, { difference: number; low: number; high: number; p: number }>;
}

export interface ComparisonOptions {
  /** The method everything is compared with (default "baseline"). */
  baseline?: string;
  /** What a unit is, for the text (default "seed"). */
  unitName?: string;
  /** The within-unit test's name (default "DeLong"). */
  testName?: string;
  level?: number;
  digits?: number;
}

/** "+0.045" with an explicit sign ("+0.000" for a rounded zero). */
export function signed(x: number, digits = 3): string {
  if (!Number.isFinite(x)) return String(x);
  const s = x.toFixed(digits);
  if (Number(s) === 0) return `+${(0).toFixed(digits)}`;
  return x > 0 ? `+${s}` : s;
}

/** "+0.045 [+0.012, +0.078]", or just the mean when there is no interval. */
export function formatDifference(iv: { mean: number; low: number; high: number }, digits = 3) {
  if (!Number.isFinite(iv.low)) return signed(iv.mean, digits);
  return `${signed(iv.mean, digits)} [${signed(iv.low, digits)}, ${signed(iv.high, digits)}]`;
}

/** "p=0.032", "p<0.001". */
export function formatP(p: number): string {
  if (!Number.isFinite(p)) return "p=—";
  return p < 0.001 ? "p<0.001" : `p=${p.toFixed(3)}`;
}

/** The units where both `method` and the baseline have a value of `set`, in unit order. */
function matched(runs: readonly UnitScores[], method: string, set: string, baseline: string) {
  const of = (m: string) =>
    new Map(runs.filter((r) => r.method === m && set in r.values).map((r) => [r.unit, r]));
  const mine = of(method), base = of(baseline);
  const units = [...mine.keys()].filter((u) => base.has(u)).sort((a, b) => a - b);
  return units.map((u) => ({ unit: u, run: mine.get(u)!, base: base.get(u)! }));
}

/** The paired difference method - baseline on `set` over matched units, or null without any. */
export function pairedToBaseline(
  runs: readonly UnitScores[],
  method: string,
  set: string,
  o: ComparisonOptions = {},
): PairedDifference | null {
  const pairs = matched(runs, method, set, o.baseline ?? "baseline");
  if (pairs.length === 0) return null;
  return pairedDifference(
    pairs.map((p) => p.run.values[set]),
    pairs.map((p) => p.base.values[set]),
    o.level ?? 0.95,
  );
}

/** One cell of the difference table. */
function differenceCell(
  runs: readonly UnitScores[],
  method: string,
  set: string,
  o: ComparisonOptions,
): string {
  const digits = o.digits ?? 3;
  const d = pairedToBaseline(runs, method, set, o);
  if (!d) return "—";
  const tests = matched(runs, method, set, o.baseline ?? "baseline")
    .map((p) => p.run.tests?.[set]).filter((t) => t !== undefined);
  const testName = o.testName ?? "DeLong";
  if (d.n === 1) {
    const t = tests[0];
    if (!t) return signed(d.mean, digits);
    return `${formatDifference({ mean: t.difference, ...t }, digits)} ${
      formatP(t.p)
    } (${testName})`;
  }
  let text = formatDifference(d, digits);
  if (tests.length > 0) {
    const up = tests.filter((t) => t.p < 0.05 && t.difference > 0).length;
    const down = tests.filter((t) => t.p < 0.05 && t.difference < 0).length;
    text += `; ${testName} p<0.05: ${up}↑ ${down}↓ of ${tests.length}`;
  }
  return text;
}

/**
 * Markdown: each method's difference to the baseline per test set. Several units: the mean
 * paired difference and its t-interval, and how many units' own tests found it significant
 * (↑ better, ↓ worse); one unit: that unit's test (difference, interval, p).
 */
export function differenceTable(
  runs: readonly UnitScores[],
  methods: readonly string[],
  sets: readonly string[],
  o: ComparisonOptions = {},
): string {
  const baseline = o.baseline ?? "baseline";
  const header = ["method", ...sets.map((s) => `${s}: Δ vs ${baseline}`)];
  const rows = methods.filter((m) => m !== baseline)
    .map((m) => [m, ...sets.map((s) => differenceCell(runs, m, s, o))]);
  return markdownTable(header, rows);
}

/** How much of the baseline's drop from `plain` to `shifted` a method wins back. */
export interface Recovery {
  /** mean(method shifted - baseline shifted) / mean(baseline plain - baseline shifted). */
  share: number;
  /** The baseline's drop, over units. */
  drop: Interval;
  /** The method's gain on the shifted set, paired with the baseline over units. */
  gain: PairedDifference;
  /** Units where the method scores above the baseline on the shifted set. */
  better: number;
  units: number;
}

/** The recovery of `method` on one (plain, shifted) pair of test sets, or null without units. */
export function recovery(
  runs: readonly UnitScores[],
  method: string,
  pair: { plain: string; shifted: string },
  o: ComparisonOptions = {},
): Recovery | null {
  const baseline = o.baseline ?? "baseline";
  const pairs = matched(runs, method, pair.shifted, baseline)
    .filter((p) => pair.plain in p.base.values);
  if (pairs.length === 0) return null;
  const level = o.level ?? 0.95;
  const drop = tInterval(
    pairs.map((p) => p.base.values[pair.plain] - p.base.values[pair.shifted]),
    level,
  );
  const gain = pairedDifference(
    pairs.map((p) => p.run.values[pair.shifted]),
    pairs.map((p) => p.base.values[pair.shifted]),
    level,
  );
  return {
    share: drop.mean > 0 ? gain.mean / drop.mean : NaN,
    drop,
    gain,
    better: pairs.filter((p) => p.run.values[pair.shifted] > p.base.values[pair.shifted]).length,
    units: pairs.length,
  };
}

/**
 * Markdown: the baseline's drop per artefact set, then for each method the share of it won back
 * with the paired gain's interval and on how many units the method beat the baseline there.
 */
export function recoveryTable(
  runs: readonly UnitScores[],
  methods: readonly string[],
  pairs: readonly { plain: string; shifted: string }[],
  o: ComparisonOptions = {},
): string {
  const baseline = o.baseline ?? "baseline";
  const unit = o.unitName ?? "seed";
  const digits = o.digits ?? 3;
  const header = ["method", ...pairs.map((p) => `${p.shifted}: share of the drop recovered`)];
  const baseRow = [
    `${baseline} (drop ${pairs.map((p) => `${p.plain} → ${p.shifted}`).join(", ")})`,
    ...pairs.map((p) => {
      const r = recovery(runs, baseline, p, o);
      return r ? `drop ${formatDifference(r.drop, digits)}` : "—";
    }),
  ];
  const rows = methods.filter((m) => m !== baseline).map((m) => [
    m,
    ...pairs.map((p) => {
      const r = recovery(runs, m, p, o);
      if (!r) return "—";
      if (!(r.drop.mean > 0)) return `— (no drop; gain ${formatDifference(r.gain, digits)})`;
      return `${(100 * r.share).toFixed(0)} % (gain ${formatDifference(r.gain, digits)}; ` +
        `above ${baseline} on ${r.better}/${r.units} ${unit}s)`;
    }),
  ]);
  return markdownTable(header, [baseRow, ...rows]);
}
