/**
 * `train` runs small enough for a test: synthetic lesions at 16 px, 3 batches of 8 (--DEBUG),
 * one epoch, the WASM backend, no progress bars, every folder under one temporary root. Each
 * run resolves its argv exactly as `cli.ts train` does.
 */

import { join } from "node:path";
import { resolveTrainArgv } from "../../cli/train-invocation.ts";
import { RUN_FILES } from "../../experiments/run-layout.ts";
import { runTrain, type TrainSummary } from "../../experiments/train-run.ts";

export const TINY_SYNTH = [
  "--dataset",
  "synth",
  "--arch",
  "synth-cnn",
  "--image-size",
  "16",
  "--synth-train-size",
  "48",
  "--synth-test-size",
  "16",
  "--batch-size",
  "8",
  "--n-epochs",
  "1",
  "--DEBUG",
  "--num-workers",
  "0",
  "--backend",
  "cpu",
  "--quiet",
];

export interface TinyRun {
  summary: TrainSummary;
  lines: string[];
}

/** Runs `train --test-no testNo <argv>` with its folders under `root`. */
export async function tinyTrain(root: string, testNo: string, argv: string[]): Promise<TinyRun> {
  const config = await resolveTrainArgv([
    "--test-no",
    testNo,
    "--model-dir",
    join(root, "weights"),
    "--log-dir",
    join(root, "logs"),
    "--plot-dir",
    join(root, "plots"),
    ...argv,
  ]);
  const lines: string[] = [];
  const summary = await runTrain(config, (l) => lines.push(l));
  return { summary, lines };
}

/** A JSON file of a run folder, parsed. */
export function readRunJson(run: TrainSummary, name: string): unknown {
  return JSON.parse(Deno.readTextFileSync(join(run.dirs.run, name)));
}

/** The epochs.jsonl records of a run folder. */
export function readEpochs(run: TrainSummary): { loss: unknown; epoch: number; fold?: number }[] {
  return Deno.readTextFileSync(join(run.dirs.run, RUN_FILES.epochs)).trim().split("\n")
    .map((l) => JSON.parse(l));
}
