/**
 * Options of `cli.ts demo` (`deno task demo`): the study's markings (or rulers) experiment,
 * presets 1-4 (5-8), run as `train --dataset synth` on a synthetic shortcut. Each option is one
 * train flag; the defaults are the demo's setting, sized so that the shortcut shows in the
 * baseline and the four methods finish in minutes on a 2-core CPU.
 */

import { z } from "zod";
import { LR_DECAYS } from "../nn/optim/lr-decay.ts";
import { backendField, precisionField } from "./debias-options.ts";
import { option } from "./option-schema.ts";
import { count, nonNegative, number } from "./option-parsers.ts";

export const demoSchema = z.object({
  artefact: option(z.enum(["marked", "rulers"]).default("marked"), {
    help: "the shortcut: surgical markings (presets 1-4) or rulers (presets 5-8)",
    value: "<kind>",
  }),
  correlation: option(
    number("--correlation").pipe(z.number().min(-1).max(1)).default(0.6),
    { help: "correlation of the artefact with malignancy in training", value: "<c>" },
  ),
  trainSize: option(count("--train-size", 8).default(1500), {
    help: "training lesions",
    value: "<n>",
  }),
  testSize: option(count("--test-size", 4).default(300), {
    help: "lesions per test set (plain, and the same lesions with the artefact)",
    value: "<n>",
  }),
  imageSize: option(count("--image-size", 8).default(64), {
    help: "image side in pixels",
    value: "<n>",
  }),
  epochs: option(count("--epochs", 1).default(8), { help: "epochs per method", value: "<n>" }),
  batchSize: option(count("--batch-size", 2).default(32), {
    help: "mini-batch size",
    value: "<n>",
  }),
  lrBase: option(nonNegative("--lr-base").default(0.01), {
    help: "SGD lr of encoder and main head (the study's 0.0003 fine-tuned a pretrained trunk)",
    value: "<x>",
  }),
  lrClass: option(nonNegative("--lr-class").default(0.01), {
    help: "SGD lr of TABE's head and boosted encoder optimiser",
    value: "<x>",
  }),
  lrDecay: option(z.enum(LR_DECAYS).default("cosine"), {
    help: "learning rates over each run: cosine (annealed to 0, so the four runs end at settled " +
      "weights and compare by what they learnt) or constant (the study)",
    value: "<kind>",
  }),
  seed: option(count("--seed", 0).default(0), { help: "seed of data and weights", value: "<n>" }),
  out: option(z.string().min(1).default("./results/demo"), {
    help: "where the four runs and the report go",
    value: "<dir>",
  }),
  backend: backendField,
  precision: precisionField,
  quiet: option(z.boolean().default(false), { help: "no progress bars" }),
});

export type DemoOptions = z.infer<typeof demoSchema>;

/** The study's presets of each artefact's experiment: baseline, LNTL+GRL, TABE, CLGR. */
export const DEMO_PRESETS = {
  marked: ["1", "2", "3", "4"],
  rulers: ["5", "6", "7", "8"],
} as const;

/** The train flags of the demo's setting (the preset supplies method, bias label and tests). */
export function demoTrainArgs(o: DemoOptions): string[] {
  return [
    "--dataset",
    "synth",
    "--arch",
    "synth-cnn",
    "--synth-correlation",
    String(o.correlation),
    "--synth-train-size",
    String(o.trainSize),
    "--synth-test-size",
    String(o.testSize),
    "--image-size",
    String(o.imageSize),
    "--n-epochs",
    String(o.epochs),
    "--batch-size",
    String(o.batchSize),
    "--lr-base",
    String(o.lrBase),
    "--lr-class",
    String(o.lrClass),
    "--lr-decay",
    o.lrDecay,
    "--seed",
    String(o.seed),
    "--num-workers",
    "0",
    "--backend",
    o.backend,
    "--precision",
    o.precision,
    ...(o.quiet ? ["--quiet"] : []),
  ];
}

/**
 * The benchmark preset (experiments/unlearning-presets.ts) whose `synth` flags are the demo's
 * setting, when the demo runs at its defaults: its committed 5-seed table says how often the
 * demo's effect holds. Undefined for any other setting.
 */
export function demoBenchmarkPreset(o: DemoOptions): string | undefined {
  const defaults = demoSchema.parse({});
  const setting = (x: DemoOptions) => {
    const { seed: _seed, out: _out, backend: _backend, quiet: _quiet, ...rest } = x;
    return JSON.stringify(rest);
  };
  return setting(o) === setting(defaults) && o.artefact === "marked" ? "marked" : undefined;
}
