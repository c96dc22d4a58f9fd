/**
 * Options of `cli.ts cmnist`, as command-line data (flags, help, defaults) plus the zod schema
 * that validates commander's raw strings into {@link CmnistOptions}. Defaults are the LNTL
 * paper's schedule (100 epochs, lr x0.1 every 40): meant for a GPU; `--epochs` and
 * `--train-subset` make a CPU run affordable.
 */

import { z } from "zod";
import type { OptionSpec } from "./option-spec.ts";
import { BACKEND_CHOICES } from "../gpu/select.ts";
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
  { flags: "--lambdaa <x>", description: "LNTL term weight", default: "0.01" },
  { flags: "--alpha <x>", description: "TABE confusion weight", default: "0.03" },
  { flags: "--grl-scale <x>", description: "gradient-reversal scale", default: "0.1" },
  {
    flags: "--confusion-target <kind>",
    description: "TABE's confusion target: u ~ U(0,1) per element (the study's code) or 1/K " +
      "(Alvi et al.'s paper)",
    default: "uniform-random",
    choices: ["uniform-random", "uniform-target"],
  },
  {
    flags: "--aux-weights <kind>",
    description: "bias-head class weights: none (LNTL's code) or inverse-frequency (the study)",
    default: "none",
    choices: ["none", "inverse-frequency"],
  },
  {
    flags: "--backend <name>",
    description: "auto, webgpu, cpu (WASM SIMD) or cpu-reference (TypeScript oracle)",
    default: "auto",
    choices: [...BACKEND_CHOICES],
  },
  { flags: "--out-dir <dir>", description: "where the table goes", default: "results/cmnist" },
  { flags: "--read-every <n>", description: "steps between loss read-backs", default: "20" },
  { flags: "--quiet", description: "no per-batch progress bar" },
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
  lambdaa: nonNegative("--lambdaa").default(0.01),
  alpha: nonNegative("--alpha").default(0.03),
  grlScale: nonNegative("--grl-scale").default(0.1),
  confusionTarget: z.enum(["uniform-random", "uniform-target"]).default("uniform-random"),
  auxWeights: z.enum(["none", "inverse-frequency"]).default("none"),
  backend: z.enum(BACKEND_CHOICES).default("auto"),
  outDir: z.string().min(1).default("results/cmnist"),
  readEvery: count("--read-every", 1).default(20),
  quiet: z.boolean().default(false),
});

export type CmnistOptions = z.infer<typeof cmnistSchema>;
