/**
 * Options of `cli.ts cmnist`, as command-line data (flags, help, defaults) plus the zod schema
 * that validates commander's raw strings into {@link CmnistOptions}. Defaults are the LNTL
 * paper's schedule (100 epochs, lr x0.1 every 40): meant for a GPU; `--epochs` and
 * `--train-subset` make a CPU run affordable.
 */

import { z } from "zod";
import type { OptionSpec } from "./option-spec.ts";
import {
  runReportFields,
  runReportSpecs,
  unlearningTermFields,
  unlearningTermSpecs,
} from "./debias-options.ts";
import { count, list, nonNegative, number } from "./option-parsers.ts";

/**
 * Methods the runner trains. LNTL's own algorithm reverses the gradient (its official code), so
 * the paper's LNTL row compares with `LNTL+GRL`; `LNTL` alone follows the study's default (no
 * GRL: phase 2 then trains the encoder towards the colour). CLGR = TABE+GRL. `grey` is the
 * paper's grey-scale baseline (the baseline on images without colour).
 */
export const CMNIST_METHODS = [
  "baseline",
  "LNTL",
  "LNTL+GRL",
  "TABE",
  "TABE+GRL",
  "CLGR",
  "grey",
] as const;
export type CmnistMethod = (typeof CMNIST_METHODS)[number];

export const cmnistOptionSpecs: OptionSpec[] = [
  {
    flags: "--sigma2 <list>",
    description: "colour variances, comma-separated (the paper: 0.020..0.050)",
    default: "0.02,0.025,0.03,0.035,0.04,0.045,0.05",
  },
  {
    flags: "--debias-config <list>",
    description: `methods, comma-separated: ${CMNIST_METHODS.join(", ")}`,
    default: "baseline,LNTL+GRL,TABE,CLGR",
  },
  { flags: "--GRL", description: "gradient reversal for every LNTL / TABE method" },
  { flags: "--seeds <list>", description: "seeds, comma-separated", default: "0" },
  { flags: "--epochs <n>", description: "epochs (the paper: 100)", default: "100" },
  { flags: "--lr-step <n>", description: "lr x0.1 every n epochs (0: constant)", default: "40" },
  { flags: "--train-subset <n>", description: "first n training digits (0: all 60,000)" },
  { flags: "--test-subset <n>", description: "first n test digits (0: all 10,000)" },
  { flags: "--batch-size <n>", description: "mini-batch size", default: "128" },
  {
    flags: "--lr <x>",
    description: "SGD lr of encoder, main head and LNTL heads",
    default: "0.01",
  },
  { flags: "--lr-class <x>", description: "lr of TABE heads and boosted encoder (default --lr)" },
  { flags: "--momentum <x>", description: "SGD momentum", default: "0.9" },
  { flags: "--weight-decay <x>", description: "weight decay of every optimiser", default: "5e-4" },
  ...unlearningTermSpecs,
  {
    flags: "--aux-weights <kind>",
    description: "bias-head class weights: none (LNTL's code) or inverse-frequency (the study)",
    default: "none",
    choices: ["none", "inverse-frequency"],
  },
  ...runReportSpecs("results/cmnist"),
];

export const cmnistSchema = z.object({
  sigma2: list(number("sigma^2").pipe(z.number().min(0).max(1))),
  debiasConfig: list(z.enum(CMNIST_METHODS)),
  GRL: z.boolean().default(false),
  seeds: list(count("seed", 0)),
  epochs: count("--epochs", 1).default(100),
  lrStep: count("--lr-step", 0).default(40),
  trainSubset: count("--train-subset", 0).optional(),
  testSubset: count("--test-subset", 0).optional(),
  batchSize: count("--batch-size", 2).default(128),
  lr: nonNegative("--lr").default(0.01),
  lrClass: nonNegative("--lr-class").optional(),
  momentum: nonNegative("--momentum").default(0.9),
  weightDecay: nonNegative("--weight-decay").default(5e-4),
  ...unlearningTermFields,
  auxWeights: z.enum(["none", "inverse-frequency"]).default("none"),
  ...runReportFields("results/cmnist"),
});

export type CmnistOptions = z.infer<typeof cmnistSchema>;
