import {
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from "../experiments/distributions.ts";
import { rocAuc } from "../experiments/metrics.ts";
import {
  delongAuc,
  delongTest,
  mcnemarTest,
  meanSd,
  pairedBootstrap,
  pairedDifference,
  tInterval,
} from "../experiments/statistics.ts";
import { formatDifference } from "../experiments/comparisons.ts";
import { Rng } from "../data/rng.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";

interface DelongCase {
  name: string;
  a: number[];
  b: number[];
  targets: number[];
  aucA: number;
  aucB: number;
  covariance: number[];
  se: number;
  z: number;
  p: number;
  low: number;
  high: number;
  aucALow: number;
  aucAHigh: number;
}

interface Fixture {
  delong: DelongCase[];
  tQuantiles: { p: number; df: number; q: number }[];
  tCdf: { t: number; df: number; cdf: number }[];
  normalCdf: { z: number; cdf: number }[];
  normalQuantiles: { p: number; q: number }[];
  paired: {
    method: number[];
    baseline: number[];
    mean: number;
    sd: number;
    low: number;
    high: number;
    t: number;
    p: number;
  }[];
  mcnemar: { a: number[]; b: number[]; onlyA: number; onlyB: number; p: number }[];
}

const fixture: Fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/delong.json", import.meta.url)),
);
const tight = { rtol: 1e-9, atol: 1e-12 };

Deno.test("Student's t and normal quantiles and CDFs match scipy.stats", () => {
  // scipy's t.ppf (cephes stdtrit) is itself accurate to ~1e-9 relative: its q for df 3,
  // p 0.9 has t.cdf(q) - 0.9 = 3.6e-10, where ours gives q with a CDF error below 1e-15.
  for (const c of fixture.tQuantiles) {
    const label = `t quantile p=${c.p} df=${c.df}`;
    assertClose([studentTQuantile(c.p, c.df)], [c.q], label, { rtol: 1e-8, atol: 1e-12 });
    assertClose([studentTCdf(studentTQuantile(c.p, c.df), c.df)], [c.p], `${label}: cdf`, tight);
  }
  for (const c of fixture.tCdf) {
    assertClose([studentTCdf(c.t, c.df)], [c.cdf], `t cdf t=${c.t} df=${c.df}`, tight);
  }
  for (const c of fixture.normalCdf) {
    assertClose([normalCdf(c.z)], [c.cdf], `normal cdf z=${c.z}`, { rtol: 1e-9, atol: 1e-300 });
  }
  for (const c of fixture.normalQuantiles) {
    assertClose([normalQuantile(c.p)], [c.q], `normal quantile p=${c.p}`, tight);
  }
  assertThrows(() => studentTQuantile(1, 3), /probability must be in \(0, 1\)/, "p = 1");
  assertThrows(() => studentTQuantile(0.9, 0), /df must be > 0/, "df = 0");
});

Deno.test("paired differences: t-interval and paired t-test match scipy's ttest_rel", () => {
  for (const c of fixture.paired) {
    const d = pairedDifference(c.method, c.baseline);
    const label = `${c.method.length} pairs`;
    assertClose([d.mean, d.sd, d.low, d.high], [c.mean, c.sd, c.low, c.high], label, tight);
    assertClose([d.t, d.p], [c.t, c.p], `${label}: t-test`, { rtol: 1e-8, atol: 1e-12 });
  }
  const one = pairedDifference([0.8], [0.7]);
  assertEqual(Number.isNaN(one.low) && Number.isNaN(one.p), true, "one pair has no interval");
  assertClose([one.mean], [0.1], "one pair's difference");
  const constant = pairedDifference([1.5, 2.5], [1, 2]);
  assertEqual(constant.p, 0, "a constant non-zero difference");
  assertThrows(() => pairedDifference([1, 2], [1]), /2 method values for 1 baseline/, "lengths");
  assertThrows(() => tInterval([1, NaN]), /value 1 is NaN/, "NaN");
  assertEqual(formatDifference(tInterval([0.01, 0.03, 0.05])), "+0.030 [-0.020, +0.080]", "text");
  assertEqual(Number.isNaN(meanSd([]).mean), true, "mean of nothing");
});

Deno.test("DeLong's test matches Sun and Xu's fast midrank DeLong (numpy) and sklearn's AUC", () => {
  for (const c of fixture.delong) {
    const r = delongTest(c.a, c.b, c.targets);
    assertClose([r.aucA, r.aucB], [c.aucA, c.aucB], `${c.name}: AUCs`, tight);
    assertClose([rocAuc(c.a, c.targets)], [c.aucA], `${c.name}: rocAuc agrees`, tight);
    assertClose(r.covariance, c.covariance, `${c.name}: covariance`, tight);
    assertClose([r.se, r.z, r.low, r.high], [c.se, c.z, c.low, c.high], c.name, tight);
    assertClose([r.p], [c.p], `${c.name}: p`, { rtol: 1e-7, atol: 1e-300 });
    const one = delongAuc(c.a, c.targets);
    assertClose([one.variance], [c.covariance[0]], `${c.name}: one AUC's variance`, tight);
    assertClose([one.low, one.high], [c.aucALow, c.aucAHigh], `${c.name}: AUC interval`, tight);
  }
});

Deno.test("DeLong: swapping the classifiers flips the sign; identical rankings give p = 1", () => {
  const c = fixture.delong[1];
  const ab = delongTest(c.a, c.b, c.targets), ba = delongTest(c.b, c.a, c.targets);
  assertClose([ba.difference, ba.z, ba.p], [-ab.difference, -ab.z, ab.p], "swapped", tight);
  // A monotone transform keeps the ranking: same AUC, zero variance of the difference.
  const same = delongTest(c.a, c.a.map((v) => 3 * v - 1), c.targets);
  assertEqual([same.difference, same.se, same.p], [0, 0, 1], "same ranking");
  assertThrows(
    () => delongTest([0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [1, 0, 0]),
    /at least two positives and two negatives, got 1 and 2/,
    "too few positives",
  );
  assertThrows(() => delongTest([0.1, 0.2], [0.1, 0.2], [1, 2]), /target 1 is 2/, "bad target");
});

Deno.test("paired bootstrap: reproducible, its spread agrees with DeLong's standard error", () => {
  for (const c of fixture.delong.slice(1)) {
    const d = delongTest(c.a, c.b, c.targets);
    const b = pairedBootstrap(c.a, c.b, c.targets, { resamples: 2000, seed: 3 });
    assertClose([b.difference], [d.difference], `${c.name}: point estimate`, tight);
    // Both estimate the same standard error; at these sizes they agree within 10 %.
    assertClose([b.se], [d.se], `${c.name}: bootstrap se vs DeLong se`, { rtol: 0.1, atol: 0 });
    assertEqual(b.low < d.difference && d.difference < b.high, true, `${c.name}: covers`);
    assertEqual((b.p < 0.05) === (d.p < 0.05), true, `${c.name}: same verdict at 5 %`);
    const again = pairedBootstrap(c.a, c.b, c.targets, { resamples: 2000, seed: 3 });
    assertEqual([again.low, again.high, again.p], [b.low, b.high, b.p], `${c.name}: seeded`);
  }
  const c = fixture.delong[1];
  const same = pairedBootstrap(c.a, c.a, c.targets, { resamples: 50 });
  assertEqual([same.difference, same.low, same.high, same.p], [0, 0, 0, 1], "identical scores");
  assertThrows(
    () => pairedBootstrap(c.a, c.b, c.targets, { resamples: 5 }),
    /resamples must be an integer >= 10/,
    "too few resamples",
  );
});

Deno.test("intervals cover: 95 % t-intervals of normal samples hold the mean ~95 % of the time", () => {
  const rng = new Rng(42);
  let covered = 0;
  const trials = 2000;
  for (let k = 0; k < trials; k++) {
    const xs = Array.from({ length: 5 }, () => rng.normal(1, 2));
    const iv = tInterval(xs);
    if (iv.low <= 1 && 1 <= iv.high) covered++;
  }
  // Binomial sd at 2,000 trials is 0.5 %: 93-97 % is four sd either side.
  const share = covered / trials;
  assertEqual(share > 0.93 && share < 0.97, true, `coverage ${share}`);
});

Deno.test("McNemar's exact test matches scipy's binomial test on the discordant items", () => {
  for (const c of fixture.mcnemar) {
    const r = mcnemarTest(c.a, c.b);
    const label = `${c.a.length} items`;
    assertEqual([r.onlyA, r.onlyB], [c.onlyA, c.onlyB], `${label}: discordant counts`);
    assertClose([r.p], [c.p], `${label}: p`, { rtol: 1e-9, atol: 1e-15 });
    assertClose([r.difference], [(c.onlyA - c.onlyB) / c.a.length], `${label}: difference`, tight);
    assertEqual(r.low < r.difference && r.difference < r.high, true, `${label}: interval`);
  }
  assertEqual(mcnemarTest([1, 0, 1], [1, 0, 1]).p, 1, "no discordant items");
  assertThrows(() => mcnemarTest([1], [1, 0]), /two equal, non-empty lists, got 1 and 2/, "sizes");
});
