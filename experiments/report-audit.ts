/**
 * The report's bias audit of one run, beyond the study's tables:
 *  - how well a linear probe reads each bias label (and, for reference, the diagnosis) off the
 *    frozen trunk features: lower is better for a bias, and a probe at chance on the bias with a
 *    good probe on the diagnosis is what unlearning is after;
 *  - the AUC gap between the plain test set and each artefact set (plain minus artefact: how
 *    much the marking, ruler or instrument costs the classifier; lower is better).
 * The probe pools the features of all of a run's test sets, so a label that is constant within
 * each set (every image of the marked set is marked) still varies across them.
 */

import { hashSeed, Rng } from "../data/rng.ts";
import { linearProbeScores } from "./linear-probe.ts";
import { rocAuc } from "./metrics.ts";
import type { ReportRun } from "./report-runs.ts";

/** One probe of one run. */
export interface ProbeRow {
  /** The label probed: "target" or a bias label (marked, scale, instrument, ...). */
  label: string;
  classes: number;
  /** Images pooled (after subsampling); half fit the probe, half score it. */
  samples: number;
  /** Held-out accuracy, and what always guessing the commonest class scores. */
  accuracy: number;
  majority: number;
  /** Held-out AUC (one-vs-rest mean over classes when there are more than two). */
  auc: number;
}

/** Options of the probes. */
export interface ProbeAuditOptions {
  /** Pooled images beyond this are subsampled at random (default 2000): the fit is O(N·D). */
  maxSamples?: number;
  seed?: number;
  iterations?: number;
}

function probeAuc(labels: Int32Array, probs: Float64Array, classes: number): number {
  const aucs: number[] = [];
  for (let c = classes === 2 ? 1 : 0; c < classes; c++) {
    const t = Array.from(labels, (l) => (l === c ? 1 : 0));
    const positives = t.reduce((a: number, b) => a + b, 0);
    if (positives === 0 || positives === t.length) continue;
    aucs.push(rocAuc(Array.from(t, (_, i) => probs[i * classes + c]), t));
  }
  return aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : NaN;
}

/**
 * Probes every label found in the run's features/*.safetensors, pooled over its test sets.
 * A label with fewer than two classes of at least two images each, or under 8 known images, is
 * left out.
 */
export function probeRun(run: ReportRun, o: ProbeAuditOptions = {}): ProbeRow[] {
  const sets = Object.entries(run.features);
  if (sets.length === 0) return [];
  const dim = sets[0][1].dim;
  for (const [name, f] of sets) {
    if (f.dim !== dim) {
      throw new Error(
        `${run.folder}/features/${name}.safetensors: ${f.dim} features per image, ` +
          `${sets[0][0]} has ${dim}`,
      );
    }
  }
  const names = [...new Set(sets.flatMap(([, f]) => Object.keys(f.labels)))]
    .sort((a, b) => (a === "target" ? -1 : b === "target" ? 1 : a.localeCompare(b)));
  const rows: ProbeRow[] = [];
  for (const label of names) {
    const picked: { set: Float32Array; row: number; value: number }[] = [];
    for (const [, f] of sets) {
      const values = f.labels[label];
      if (!values) continue;
      values.forEach((v, row) => {
        if (v >= 0) picked.push({ set: f.features, row, value: v });
      });
    }
    const counts = new Map<number, number>();
    for (const p of picked) counts.set(p.value, (counts.get(p.value) ?? 0) + 1);
    const kept = [...counts].filter(([, n]) => n >= 2).map(([v]) => v).sort((a, b) => a - b);
    if (kept.length < 2 || picked.length < 8) continue;
    const index = new Map(kept.map((v, i) => [v, i]));
    let pool = picked.filter((p) => index.has(p.value));
    const max = o.maxSamples ?? 2000;
    if (pool.length > max) {
      const order = new Rng(hashSeed(o.seed ?? 0, "report-probe", label)).permutation(pool.length);
      pool = Array.from(order.subarray(0, max), (i) => pool[i]);
    }
    const x = new Float32Array(pool.length * dim);
    const y = new Int32Array(pool.length);
    pool.forEach((p, i) => {
      x.set(p.set.subarray(p.row * dim, (p.row + 1) * dim), i * dim);
      y[i] = index.get(p.value)!;
    });
    const scores = linearProbeScores(x, dim, y, kept.length, {
      seed: o.seed,
      iterations: o.iterations,
    });
    rows.push({
      label,
      classes: kept.length,
      samples: pool.length,
      accuracy: scores.result.accuracy,
      majority: scores.result.majority,
      auc: probeAuc(scores.heldLabels, scores.heldProbabilities, kept.length),
    });
  }
  return rows;
}

/** The plain-versus-artefact AUC gap of one pair of test sets. */
export interface GapRow {
  plain: string;
  set: string;
  plainAuc: number;
  auc: number;
  /** plainAuc - auc. */
  gap: number;
}

const isPlain = (name: string) => name.toLowerCase().startsWith("plain");
/** "plain_marked" -> "marked"; "plain" -> "". */
const plainSuffix = (name: string) => name.slice(5).replace(/^[-_ .]+/, "").toLowerCase();

/**
 * Pairs every artefact set with its plain set: the plain set whose name ends in the artefact's
 * ("plain_marked" with "marked"), else the only plain set; sets without a partner are left out.
 */
export function plainPairs(sets: readonly string[]): { plain: string; set: string }[] {
  const plains = sets.filter(isPlain);
  const pairs: { plain: string; set: string }[] = [];
  for (const set of sets.filter((s) => !isPlain(s))) {
    const named = plains.find((p) => {
      const suffix = plainSuffix(p);
      return suffix !== "" && set.toLowerCase().includes(suffix);
    });
    const plain = named ?? (plains.length === 1 ? plains[0] : undefined);
    if (plain) pairs.push({ plain, set });
  }
  return pairs;
}

/** AUC gaps of a run from its metrics.json. */
export function aucGaps(run: ReportRun): GapRow[] {
  const sets = run.metrics.sets;
  return plainPairs(Object.keys(sets)).map(({ plain, set }) => ({
    plain,
    set,
    plainAuc: sets[plain].auc,
    auc: sets[set].auc,
    gap: sets[plain].auc - sets[set].auc,
  }));
}
