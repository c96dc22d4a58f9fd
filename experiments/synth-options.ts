/**
 * Options of `cli.ts synth`: command-line data plus the zod schema validating commander's raw
 * strings into {@link SynthOptions}. Learning rates default higher than the study's (0.0003),
 * which fine-tuned ImageNet trunks; this trunk trains from scratch.
 */

import { z } from "zod";
import type { OptionSpec } from "./option-spec.ts";
import {
  runReportFields,
  runReportSpecs,
  unlearningTermFields,
  unlearningTermSpecs,
} from "./debias-options.ts";
import type { DebiasConfigName } from "../debias/config.ts";
import { count, list, nonNegative, number } from "./option-parsers.ts";

const CONFIGS: DebiasConfigName[] = [
  "baseline",
  "LNTL",
  "TABE",
  "both",
  "doubleTABE",
  "doubleLNTL",
];

/** A method: a --debias-config, optionally "+GRL"; "CLGR" is TABE+GRL. */
export const SYNTH_METHODS = [
  ...CONFIGS,
  ...CONFIGS.filter((c) => c !== "baseline").map((c) => `${c}+GRL`),
  "CLGR",
] as const;

export const synthOptionSpecs: OptionSpec[] = [
  { flags: "--marked", description: "unlearn surgical markings (bias label `marked`)" },
  { flags: "--rulers", description: "unlearn rulers (bias label `scale`)" },
  { flags: "--instrument", description: "unlearn the instrument (8 classes)" },
  {
    flags: "--debias-config <list>",
    description: "methods, comma-separated: a --debias-config, optionally +GRL, or CLGR",
    default: "baseline,LNTL+GRL,TABE,CLGR",
  },
  { flags: "--switch-heads", description: "swap the bias labels of two-head methods" },
  { flags: "--deep-aux", description: "bias heads with a 128-unit hidden layer" },
  {
    flags: "--correlation <c>",
    description: "phi correlation of the chosen artefact(s) with malignancy in training",
    default: "0.9",
  },
  {
    flags: "--other-correlation <c>",
    description: "correlation of the artefacts not chosen",
    default: "0",
  },
  {
    flags: "--instrument-shift <kind>",
    description: "instrument test set: styles independent of the label, or reversed",
    default: "independent",
    choices: ["independent", "reversed"],
  },
  { flags: "--seeds <list>", description: "seeds, comma-separated", default: "0" },
  { flags: "--epochs <n>", description: "epochs", default: "10" },
  { flags: "--train-size <n>", description: "training lesions", default: "2000" },
  { flags: "--test-size <n>", description: "lesions per test set", default: "500" },
  { flags: "--image-size <n>", description: "image side in pixels", default: "64" },
  { flags: "--width <n>", description: "channels of the trunk's first stage", default: "16" },
  { flags: "--batch-size <n>", description: "mini-batch size", default: "64" },
  { flags: "--lr-base <x>", description: "lr of encoder, main and LNTL heads", default: "0.01" },
  { flags: "--lr-class <x>", description: "lr of TABE heads and boosted encoder", default: "0.01" },
  { flags: "--momentum <x>", description: "SGD momentum", default: "0.9" },
  {
    flags: "--balance-groups",
    description: "draw training lesions so every (malignancy, chosen artefact) group is " +
      "equally frequent (resampling, a data-level baseline; not in the study)",
  },
  ...unlearningTermSpecs,
  ...runReportSpecs("results/synth"),
];

const correlation = (what: string) =>
  number(what).pipe(z.number().min(-1, `${what} must be in [-1, 1]`).max(1));

export const synthSchema = z.object({
  marked: z.boolean().default(false),
  rulers: z.boolean().default(false),
  instrument: z.boolean().default(false),
  debiasConfig: list(z.enum(SYNTH_METHODS)),
  switchHeads: z.boolean().default(false),
  deepAux: z.boolean().default(false),
  correlation: correlation("--correlation").default(0.9),
  otherCorrelation: correlation("--other-correlation").default(0),
  instrumentShift: z.enum(["independent", "reversed"]).default("independent"),
  seeds: list(count("seed", 0)),
  epochs: count("--epochs", 1).default(10),
  trainSize: count("--train-size", 8).default(2000),
  testSize: count("--test-size", 4).default(500),
  imageSize: count("--image-size", 16).default(64),
  width: count("--width", 1).default(16),
  batchSize: count("--batch-size", 2).default(64),
  lrBase: nonNegative("--lr-base").default(0.01),
  lrClass: nonNegative("--lr-class").default(0.01),
  momentum: nonNegative("--momentum").default(0.9),
  balanceGroups: z.boolean().default(false),
  ...unlearningTermFields,
  ...runReportFields("results/synth"),
});

export type SynthOptions = z.infer<typeof synthSchema>;
export type SynthMethod = (typeof SYNTH_METHODS)[number];
