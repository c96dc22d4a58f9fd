/**
 * The report's comparisons: AUC per test set per configuration (mean ± sd over its seeds, or
 * over the folds of a single --cv run), and each method against its baseline through the shared
 * comparison tables of comparisons.ts: paired over the seeds (or folds) both ran, with the 95 %
 * t-interval, and per seed DeLong's test of the two runs' predictions of the same images; plus the
 * share of the baseline's plain-to-artefact drop each method wins back.
 */

import { differenceTable, recoveryTable, type UnitScores } from "./comparisons.ts";
import { plainPairs } from "./report-audit.ts";
import type { Configuration, ReportRun } from "./report-runs.ts";
import { delongTest, meanSd } from "./statistics.ts";

/** The test sets of all runs, in the order they first appear. */
export function testSets(configs: readonly Configuration[]): string[] {
  const sets = new Set<string>();
  for (const c of configs) {
    for (const r of c.runs) for (const s of Object.keys(r.metrics.sets)) sets.add(s);
  }
  return [...sets];
}

/** What one AUC cell of the table rests on. */
export interface AucSummary {
  values: number[];
  basis: "seeds" | "folds" | "run";
  mean: number;
  sd: number;
}

/** The AUCs of a configuration on a set: one per run, or one per fold of its only run. */
export function aucSummary(c: Configuration, set: string): AucSummary | undefined {
  const perRun = c.runs.map((r) => r.metrics.sets[set]?.auc).filter((v) =>
    v !== undefined && Number.isFinite(v)
  );
  let values = perRun as number[];
  let basis: AucSummary["basis"] = values.length > 1 ? "seeds" : "run";
  const folds = c.runs.length === 1 ? c.runs[0].metrics.folds : undefined;
  if (folds && folds.length > 1) {
    const perFold = folds.map((f) => f[set]?.auc).filter((v) =>
      v !== undefined && Number.isFinite(v)
    );
    if (perFold.length > 1) {
      values = perFold as number[];
      basis = "folds";
    }
  }
  if (values.length === 0) return undefined;
  const { mean, sd } = meanSd(values);
  return { values, basis, mean, sd };
}

/** "0.912", or "0.912 ± 0.013" over seeds or folds; "—" where there is nothing. */
export function formatAuc(s: AucSummary | undefined, digits = 3): string {
  if (!s) return "—";
  return s.values.length > 1
    ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}`
    : s.mean.toFixed(digits);
}

const normal = (k: string) => k.toLowerCase().replace(/[-_]/g, "");

/** The baseline a configuration is measured against: of the baseline configurations, the one sharing most option values. */
export function closestBaseline(
  c: Configuration,
  configs: readonly Configuration[],
): Configuration | undefined {
  if (normal(c.method) === "baseline") return undefined;
  let best: Configuration | undefined;
  let bestShared = -1;
  for (const b of configs) {
    if (normal(b.method) !== "baseline") continue;
    const shared = Object.keys(b.options).filter((k) => b.options[k] === c.options[k]).length;
    if (shared > bestShared) {
      best = b;
      bestShared = shared;
    }
  }
  return best;
}

/** DeLong's test of run `a` against run `b` on one set, or undefined where it cannot apply. */
export function delongOnRuns(a: ReportRun, b: ReportRun, set: string) {
  const pa = a.predictions?.[set], pb = b.predictions?.[set];
  if (!pa || !pb) return undefined;
  const at = new Map(pb.imageNames.map((name, i) => [name, i]));
  const sa: number[] = [], sb: number[] = [], t: number[] = [];
  pa.imageNames.forEach((name, i) => {
    const j = at.get(name);
    if (j === undefined) return;
    if (pb.targets[j] !== pa.targets[i]) {
      throw new Error(
        `image ${name} of set ${set} has target ${pa.targets[i]} in ${a.folder} ` +
          `but ${pb.targets[j]} in ${b.folder}`,
      );
    }
    sa.push(pa.scores[i]);
    sb.push(pb.scores[j]);
    t.push(pa.targets[i]);
  });
  // Runs that scored different images are not paired on one test set.
  if (t.length !== pa.imageNames.length || t.length !== pb.imageNames.length) return undefined;
  const positives = t.reduce((x, y) => x + y, 0);
  if (positives < 2 || t.length - positives < 2) return undefined;
  const r = delongTest(sa, sb, t);
  return { difference: r.difference, low: r.low, high: r.high, p: r.p };
}

/** Configurations of one comparison: a baseline and the methods measured against it. */
export interface ComparisonGroup {
  baseline: Configuration;
  methods: Configuration[];
}

/** Each non-baseline configuration under its closest baseline. */
export function comparisonGroups(configs: readonly Configuration[]): ComparisonGroup[] {
  const groups = new Map<Configuration, Configuration[]>();
  for (const c of configs) {
    const base = closestBaseline(c, configs);
    if (base) groups.set(base, [...(groups.get(base) ?? []), c]);
  }
  return [...groups].map(([baseline, methods]) => ({ baseline, methods }));
}

const seedUnit = (r: ReportRun, i: number) => {
  const seed = r.config.options.seed;
  return typeof seed === "number" ? seed : i;
};

/**
 * The group's scores per unit: per fold when every configuration is one --cv run, else per
 * seed, with DeLong's test against the baseline run of the same seed.
 */
export function comparisonUnits(g: ComparisonGroup, sets: readonly string[]) {
  const all = [g.baseline, ...g.methods];
  const byFold = all.every((c) =>
    c.runs.length === 1 && (c.runs[0].metrics.folds?.length ?? 0) > 1
  );
  const units: UnitScores[] = [];
  const aucs = (m: Record<string, { auc: number }>) =>
    Object.fromEntries(sets.filter((s) => Number.isFinite(m[s]?.auc)).map((s) => [s, m[s].auc]));
  if (byFold) {
    for (const c of all) {
      c.runs[0].metrics.folds!.forEach((f, fold) =>
        units.push({ method: c.label, unit: fold, values: aucs(f) })
      );
    }
    return { unitName: "fold", units };
  }
  const baseRuns = new Map(g.baseline.runs.map((r, i) => [seedUnit(r, i), r]));
  for (const c of all) {
    c.runs.forEach((r, i) => {
      const unit = seedUnit(r, i);
      const base = c === g.baseline ? undefined : baseRuns.get(unit);
      const tests: NonNullable<UnitScores["tests"]> = {};
      if (base) {
        for (const s of sets) {
          const t = delongOnRuns(r, base, s);
          if (t) tests[s] = t;
        }
      }
      units.push({ method: c.label, unit, values: aucs(r.metrics.sets), tests });
    });
  }
  return { unitName: "seed", units };
}

/** Markdown tables of one group: AUC difference to the baseline, and the drop recovered. */
export function baselineTables(g: ComparisonGroup, sets: readonly string[]) {
  const { unitName, units } = comparisonUnits(g, sets);
  const methods = g.methods.map((m) => m.label);
  const o = { baseline: g.baseline.label, unitName, testName: "DeLong" };
  const pairs = plainPairs(sets).map((p) => ({ plain: p.plain, shifted: p.set }));
  return {
    baseline: g.baseline.label,
    unitName,
    difference: differenceTable(units, [g.baseline.label, ...methods], sets, o),
    recovery: pairs.length ? recoveryTable(units, [g.baseline.label, ...methods], pairs, o) : "",
  };
}
