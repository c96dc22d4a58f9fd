/**
 * `deno task bench:precision`: what `--precision f16` costs in accuracy. The same Colored-MNIST
 * and synthetic-skin commands run at f32 and at f16, one after the other on one backend, and
 * bench/results/precision-f16-vs-f32.md gets both commands, the wall times, and each metric at
 * both precisions with the paired difference (per seed). f16 on a CPU backend gives a GPU's
 * numbers (operands and GEMM results rounded to half, f32 accumulation; gpu/half-operands.ts)
 * up to summation order, without its speed; the GPU's speed is the device benchmark's business.
 * A benchmark, not a test: it takes tens of minutes.
 *
 * Options: --backend NAME (default cpu)  --out DIR (default bench/results)  --quick (tiny sizes,
 * to check the script; writes to results/bench unless --out is given).
 */

import { join } from "node:path";
import type { z } from "zod";
import { type CommandSpec, parseCommandArgs } from "../cli/command-line.ts";
import { cmnistCommand, synthCommand } from "../cli/commands-experiments.ts";
import type { CmnistRun } from "../experiments/cmnist-run.ts";
import { formatDifference, signed } from "../experiments/comparisons.ts";
import { writeAtomic } from "../experiments/results-files.ts";
import { meanSd, pairedDifference } from "../experiments/statistics.ts";
import { runCmnist } from "../experiments/cmnist.ts";
import { runSynth, SYNTH_TEST_SETS, type SynthRun } from "../experiments/synth.ts";
import { UNLEARNING_PRESETS } from "../experiments/unlearning-presets.ts";
import type { EpochLosses } from "../debias/run-epoch.ts";
import { scriptArgs } from "./script-args.ts";

const PRECISIONS = ["f32", "f16"] as const;

const args = scriptArgs(Deno.args, ["--backend", "--out", "--quick"]);
const quick = args.has("--quick");
const backend = args.value("--backend", "cpu");
const outDir = args.value("--out", quick ? join("results", "bench") : join("bench", "results"));

/** The README's Colored-MNIST setting (seed 0), with the grey-scale control. */
const CMNIST_ARGS = quick
  ? ["--sigma2", "0.02", "--train-subset", "300", "--test-subset", "200", "--epochs", "1"]
  : ["--sigma2", "0.02", "--train-subset", "10000", "--epochs", "10"];
const CMNIST_METHODS = quick ? "baseline" : "grey,baseline,CLGR";
/** The Colored-MNIST command's flags (seed 0, the default). */
const CMNIST_RUN = [...CMNIST_ARGS, "--lr-step", "0", "--debias-config", CMNIST_METHODS];
const marked = UNLEARNING_PRESETS.find((p) => p.name === "marked");
if (!marked) throw new Error("the marked unlearning preset is gone");
/** The demo's setting (the `marked` preset of bench:unlearning), three seeds. */
const SYNTH_ARGS = quick
  ? ["--marked", "--train-size", "64", "--test-size", "32", "--epochs", "1", "--seeds", "0,1"]
  : [...marked.args, "--seeds", "0,1,2"];

const commandOf = (name: string, argv: readonly string[]) =>
  `deno run -A cli.ts ${name} ${argv.join(" ")} --backend ${backend} --precision <f32|f16>`;

const lastScale = (epochs: readonly EpochLosses[]) => epochs[epochs.length - 1]?.lossScale;
const skipped = (epochs: readonly EpochLosses[]) => {
  const s = lastScale(epochs);
  return s ? `${s.overflows} (scale 2^${Math.log2(s.scale)})` : "—";
};

interface Timed<T> {
  runs: T[];
  minutes: number;
  backend: string;
}

/**
 * Runs `command` with `argv` at `precision` (its run folders under results/bench), timed; `run`
 * is the command's own runner, so what runs is what the command line would run.
 */
async function atPrecision<S extends z.ZodObject, R>(
  command: CommandSpec<S>,
  argv: readonly string[],
  precision: string,
  run: (
    settings: z.infer<S>,
    log: (line: string) => void,
  ) => Promise<{ runs: R[]; backend: string }>,
): Promise<Timed<R>> {
  const { settings } = await parseCommandArgs(command, [
    ...argv,
    "--backend",
    backend,
    "--precision",
    precision,
    "--quiet",
    "--out-dir",
    join("results", "bench", `precision-${precision}-${command.name}`),
  ]);
  const start = performance.now();
  const report = await run(settings, (line) => console.error(line));
  return {
    runs: report.runs,
    minutes: (performance.now() - start) / 60000,
    backend: report.backend,
  };
}

const f3 = (v: number) => v.toFixed(3);

function cmnistTable(f32: Timed<CmnistRun>, f16: Timed<CmnistRun>): string[] {
  const rows = f32.runs.map((a) => {
    const b = f16.runs.find((r) => r.method === a.method && r.seed === a.seed);
    if (!b) throw new Error(`cmnist: no f16 run of ${a.method} seed ${a.seed}`);
    const loss = (r: CmnistRun) => r.epochs[r.epochs.length - 1].total;
    return `| ${a.method} | ${f3(a.testAccuracy)} | ${f3(b.testAccuracy)} | ` +
      `${signed(b.testAccuracy - a.testAccuracy)} | ${f3(a.colourProbe.accuracy)} | ` +
      `${f3(b.colourProbe.accuracy)} | ${loss(a).toFixed(4)} | ${loss(b).toFixed(4)} | ` +
      `${skipped(b.epochs)} |`;
  });
  return [
    "| method | test accuracy f32 | f16 | Δ | colour probe f32 | f16 | last-epoch loss f32 | f16 | " +
    "f16 steps skipped |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ];
}

function synthTable(f32: Timed<SynthRun>, f16: Timed<SynthRun>): string[] {
  const methods = [...new Set(f32.runs.map((r) => r.method))];
  const rows: string[] = [];
  for (const method of methods) {
    const a = f32.runs.filter((r) => r.method === method).sort((x, y) => x.seed - y.seed);
    const b = a.map((r) => {
      const twin = f16.runs.find((s) => s.method === method && s.seed === r.seed);
      if (!twin) throw new Error(`synth: no f16 run of ${method} seed ${r.seed}`);
      return twin;
    });
    for (const set of SYNTH_TEST_SETS) {
      const x = a.map((r) => r.auc[set]);
      const y = b.map((r) => r.auc[set]);
      const [mx, my] = [meanSd(x), meanSd(y)];
      const d = pairedDifference(y, x);
      const diff = formatDifference(d);
      const skips = set === "plain" ? b.map((r) => skipped(r.epochs)).join(", ") : "";
      rows.push(
        `| ${set === "plain" ? method : ""} | ${set} | ${f3(mx.mean)} ± ${f3(mx.sd)} | ` +
          `${f3(my.mean)} ± ${f3(my.sd)} | ${diff} | ${skips} |`,
      );
    }
  }
  return [
    "| method | test set | AUC f32 (mean ± sd) | AUC f16 | f16 − f32, paired (95 % CI) | " +
    "f16 steps skipped per seed |",
    "| --- | --- | ---: | ---: | ---: | --- |",
    ...rows,
  ];
}

const cm: Record<string, Timed<CmnistRun>> = {};
const sy: Record<string, Timed<SynthRun>> = {};
for (const p of PRECISIONS) cm[p] = await atPrecision(cmnistCommand, CMNIST_RUN, p, runCmnist);
for (const p of PRECISIONS) sy[p] = await atPrecision(synthCommand, SYNTH_ARGS, p, runSynth);

const minutes = (t: Record<string, Timed<unknown>>) =>
  PRECISIONS.map((p) => `${p} ${t[p].minutes.toFixed(1)} min`).join(", ");
const text = [
  "# Mixed precision: `--precision f16` against f32",
  "",
  `Backend ${cm.f32.backend}; ${new Date().toISOString().slice(0, 10)}. Each command ran at both ` +
  "precisions from the same seeds. At f16 every matmul and convolution, forward and backward, " +
  "takes half-rounded operands and rounds its result to half (f32 accumulation); batch norm, " +
  "losses and the SGD update stay f32 on f32 master weights, and the loss is scaled " +
  "dynamically (2^16 to start, halved on an overflow, doubled after 2000 finite steps). " +
  "Evaluation is f32.",
  "",
  "## Colored MNIST",
  "",
  "```sh",
  commandOf("cmnist", CMNIST_RUN),
  "```",
  "",
  `Wall time: ${minutes(cm)}.`,
  "",
  ...cmnistTable(cm.f32, cm.f16),
  "",
  "## Synthetic skin artefacts (the demo's setting)",
  "",
  "```sh",
  commandOf("synth", SYNTH_ARGS),
  "```",
  "",
  `Wall time: ${minutes(sy)}.`,
  "",
  ...synthTable(sy.f32, sy.f16),
  "",
].join("\n");
const path = join(outDir, "precision-f16-vs-f32.md");
writeAtomic(path, text);
console.log(text);
console.error(`bench:precision: wrote ${path}`);
