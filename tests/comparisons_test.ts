import {
  differenceTable,
  formatDifference,
  recovery,
  recoveryTable,
  signed,
  type UnitScores,
} from "../experiments/comparisons.ts";
import { pairedDifference } from "../experiments/statistics.ts";
import { assertClose, assertEqual } from "./support/assert.ts";

/** Three seeds: the baseline drops 0.10 from plain to marked; CLGR wins back 0.06, 0.08, 0.07. */
const runs: UnitScores[] = [
  { method: "baseline", unit: 0, values: { plain: 0.9, marked: 0.8 } },
  { method: "baseline", unit: 1, values: { plain: 0.88, marked: 0.76 } },
  { method: "baseline", unit: 2, values: { plain: 0.92, marked: 0.84 } },
  {
    method: "CLGR",
    unit: 0,
    values: { plain: 0.9, marked: 0.86 },
    tests: { marked: { difference: 0.06, low: 0.01, high: 0.11, p: 0.02 } },
  },
  {
    method: "CLGR",
    unit: 1,
    values: { plain: 0.87, marked: 0.84 },
    tests: { marked: { difference: 0.08, low: 0.03, high: 0.13, p: 0.003 } },
  },
  {
    method: "CLGR",
    unit: 2,
    values: { plain: 0.9, marked: 0.91 },
    tests: { marked: { difference: 0.07, low: -0.01, high: 0.15, p: 0.09 } },
  },
  // A seed the baseline lacks is left out of every pairing.
  { method: "CLGR", unit: 7, values: { plain: 0.1, marked: 0.1 } },
];

Deno.test("recovery: share of the baseline's drop, paired over the seeds both methods ran", () => {
  const r = recovery(runs, "CLGR", { plain: "plain", shifted: "marked" })!;
  assertEqual([r.units, r.better], [3, 3], "matched seeds, seeds above the baseline");
  assertClose([r.drop.mean], [0.1], "baseline drop (0.10, 0.12, 0.08)");
  assertClose([r.gain.mean], [0.07], "gain (0.06, 0.08, 0.07)");
  assertClose([r.share], [0.7], "share");
  const expected = pairedDifference([0.86, 0.84, 0.91], [0.8, 0.76, 0.84]);
  assertClose([r.gain.low, r.gain.high], [expected.low, expected.high], "gain interval");
  assertEqual(recovery(runs, "LNTL", { plain: "plain", shifted: "marked" }), null, "no runs");
});

Deno.test("comparison tables: intervals over seeds, per-seed test counts, one-seed tests", () => {
  const table = differenceTable(runs, ["baseline", "CLGR"], ["plain", "marked"]);
  const lines = table.split("\n");
  assertEqual(lines[0], "| method | plain: Δ vs baseline | marked: Δ vs baseline |", "header");
  assertEqual(lines.length, 3, "baseline has no row of its own");
  const marked = pairedDifference([0.86, 0.84, 0.91], [0.8, 0.76, 0.84]);
  assertEqual(
    lines[2].includes(`${formatDifference(marked)}; DeLong p<0.05: 2↑ 0↓ of 3`),
    true,
    `marked cell: ${lines[2]}`,
  );
  const one = differenceTable(runs.filter((r) => r.unit === 1), ["CLGR"], ["marked"]);
  assertEqual(
    one.split("\n")[2],
    "| CLGR | +0.080 [+0.030, +0.130] p=0.003 (DeLong) |",
    "one seed shows its DeLong test",
  );
  const rec = recoveryTable(runs, ["baseline", "CLGR"], [{ plain: "plain", shifted: "marked" }]);
  assertEqual(rec.includes("| CLGR | 70 % (gain +0.070 ["), true, `recovery row: ${rec}`);
  assertEqual(rec.includes("above baseline on 3/3 seeds"), true, "seeds above");
  assertEqual(
    [signed(-0.00001), signed(0.0123), signed(-0.5)],
    ["+0.000", "+0.012", "-0.500"],
    "sign",
  );
});
