/**
 * `deno task bench:unlearning`: reruns the chosen unlearning settings
 * (experiments/unlearning-presets.ts) over seeds 0-4 and writes, per preset,
 * bench/results/unlearning-<name>.md: the exact `cli.ts synth` command, the machine's backend
 * and wall time, whether each unlearning method met the goal (>= 70 % of the baseline's drop
 * recovered, mean over seeds, with the paired difference's 95 % interval above zero), and
 * synth's tables with their intervals. A benchmark, not a test: it takes tens of minutes.
 *
 * Options: --only NAME,NAME  --seeds 0,1,2,3,4  --out DIR (default bench/results). The runs' own
 * folders go to results/bench/unlearning-<name>-runs (not committed).
 */

import { join } from "node:path";
import { parseCommandArgs } from "../cli/command-line.ts";
import { synthCommand } from "../cli/commands-experiments.ts";
import { recovery } from "../experiments/comparisons.ts";
import { formatDifference } from "../experiments/comparisons.ts";
import { writeAtomic } from "../experiments/results-files.ts";
import { runSynth, synthMarkdown } from "../experiments/synth.ts";
import { synthUnits } from "../experiments/synth-comparisons.ts";
import { RECOVERY_GOAL, UNLEARNING_PRESETS } from "../experiments/unlearning-presets.ts";
import { scriptArgs } from "./script-args.ts";

const args = scriptArgs(Deno.args, ["--only", "--seeds", "--out"]);
const only = args.value("--only", UNLEARNING_PRESETS.map((p) => p.name).join(",")).split(",");
const unknown = only.filter((n) => !UNLEARNING_PRESETS.some((p) => p.name === n));
if (unknown.length) {
  throw new Error(
    `--only: unknown preset(s) ${unknown.join(", ")} (known: ` +
      `${UNLEARNING_PRESETS.map((p) => p.name).join(", ")})`,
  );
}
const seeds = args.value("--seeds", "0,1,2,3,4");
const outDir = args.value("--out", "bench/results");

for (const preset of UNLEARNING_PRESETS.filter((p) => only.includes(p.name))) {
  const argv = [...preset.args, "--seeds", seeds];
  const command = `deno run -A cli.ts synth ${argv.join(" ")}`;
  const { settings } = await parseCommandArgs(synthCommand, [
    ...argv,
    "--quiet",
    "--out-dir",
    join("results", "bench", `unlearning-${preset.name}-runs`),
  ]);
  const start = performance.now();
  const report = await runSynth(settings, (line) => console.error(line));
  const minutes = (performance.now() - start) / 60000;
  const units = synthUnits(report.runs);
  const verdicts = settings.debiasConfig.filter((m) => m !== "baseline").map((m) => {
    const r = recovery(units, m, { plain: "plain", shifted: preset.shifted });
    if (!r) return `- ${m}: no runs`;
    const met = r.share >= RECOVERY_GOAL && r.gain.low > 0;
    return `- ${m}: ${(100 * r.share).toFixed(0)} % of the drop recovered, gain ` +
      `${formatDifference(r.gain)} over ${r.units} seeds, above the baseline on ${r.better}/` +
      `${r.units}: goal ${met ? "met" : "not met"}`;
  });
  const text = [
    `# Unlearning benchmark: ${preset.name}`,
    "",
    preset.why,
    "",
    "```sh",
    command,
    "```",
    "",
    `Backend ${report.backend}; ${minutes.toFixed(1)} min wall time. Goal: >= ` +
    `${100 * RECOVERY_GOAL} % of the baseline's ${preset.shifted} drop recovered (mean over ` +
    `seeds) with the paired difference's 95 % interval above zero.`,
    "",
    ...verdicts,
    "",
    synthMarkdown(settings, report.runs).replace(/^# .*\n/, ""),
  ].join("\n");
  const path = join(outDir, `unlearning-${preset.name}.md`);
  writeAtomic(path, text);
  console.log(text);
  console.error(`bench:unlearning: wrote ${path}`);
}
