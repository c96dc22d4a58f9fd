/**
 * Options of `cli.ts cmnist`: one zod schema whose fields carry their help, validating
 * commander's raw strings into {@link CmnistOptions}. Defaults are the LNTL
 * paper's schedule (100 epochs, lr x0.1 every 40): meant for a GPU; `--epochs` and
 * `--train-subset` make a CPU run affordable.
 */

import { z } from "zod";
import { runReportFields, unlearningTermFields } from "./debias-options.ts";
import { option } from "./option-schema.ts";
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

export const cmnistSchema = z.object({
  sigma2: option(
    list(number("sigma^2").pipe(z.number().min(0).max(1))).default([
      0.02,
      0.025,
      0.03,
      0.035,
      0.04,
      0.045,
      0.05,
    ]),
    { help: "colour variances, comma-separated (the paper: 0.020..0.050)", value: "<list>" },
  ),
  debiasConfig: option(
    list(z.enum(CMNIST_METHODS)).default(["baseline", "LNTL+GRL", "TABE", "CLGR"]),
    { help: `methods, comma-separated: ${CMNIST_METHODS.join(", ")}`, value: "<list>" },
  ),
  GRL: option(z.boolean().default(false), {
    help: "gradient reversal for every LNTL / TABE method",
    flag: "--GRL",
  }),
  seeds: option(list(count("seed", 0)).default([0]), {
    help: "seeds, comma-separated",
    value: "<list>",
  }),
  epochs: option(count("--epochs", 1).default(100), {
    help: "epochs (the paper: 100)",
    value: "<n>",
  }),
  lrStep: option(count("--lr-step", 0).default(40), {
    help: "lr x0.1 every n epochs (0: constant)",
    value: "<n>",
  }),
  trainSubset: option(count("--train-subset", 0).optional(), {
    help: "first n training digits (0: all 60,000)",
    value: "<n>",
  }),
  testSubset: option(count("--test-subset", 0).optional(), {
    help: "first n test digits (0: all 10,000)",
    value: "<n>",
  }),
  batchSize: option(count("--batch-size", 2).default(128), {
    help: "mini-batch size",
    value: "<n>",
  }),
  lr: option(nonNegative("--lr").default(0.01), {
    help: "SGD lr of encoder, main head and LNTL heads",
    value: "<x>",
  }),
  lrClass: option(nonNegative("--lr-class").optional(), {
    help: "lr of TABE heads and boosted encoder (default --lr)",
    value: "<x>",
  }),
  momentum: option(nonNegative("--momentum").default(0.9), {
    help: "SGD momentum",
    value: "<x>",
  }),
  weightDecay: option(nonNegative("--weight-decay").default(5e-4), {
    help: "weight decay of every optimiser",
    value: "<x>",
  }),
  ...unlearningTermFields,
  auxWeights: option(z.enum(["none", "inverse-frequency"]).default("none"), {
    help: "bias-head class weights: none (LNTL's code) or inverse-frequency (the study)",
    value: "<kind>",
  }),
  ...runReportFields("results/cmnist"),
});

export type CmnistOptions = z.infer<typeof cmnistSchema>;
