/**
 * The options `cli.ts cmnist`, `cli.ts synth` and `cli.ts train` share, as zod fields that carry
 * their own help: the unlearning terms' strengths, and where and how a run reports. One
 * definition, so the commands cannot drift apart in names, help or defaults.
 */

import { z } from "zod";
import type { DebiasOptions } from "../debias/config.ts";
import { CONFUSION_TARGETS } from "../debias/losses.ts";
import { BACKEND_CHOICES } from "../gpu/select.ts";
import { PRECISIONS } from "../nn/autocast.ts";
import { LR_DECAYS } from "../nn/optim/lr-decay.ts";
import { option } from "./option-schema.ts";
import { count, nonNegative } from "./option-parsers.ts";

/**
 * LNTL's and TABE's weights, the gradient-reversal scale, TABE's confusion target, and whether the
 * bias heads are told the label.
 */
export const unlearningTermFields = {
  lambdaa: option(nonNegative("--lambdaa").default(0.01), {
    help: "LNTL term weight",
    value: "<x>",
  }),
  alpha: option(nonNegative("--alpha").default(0.03), {
    help: "TABE confusion weight",
    value: "<x>",
  }),
  grlScale: option(nonNegative("--grl-scale").default(0.1), {
    help: "gradient-reversal scale",
    value: "<x>",
  }),
  confusionTarget: option(z.enum(CONFUSION_TARGETS).default("uniform-random"), {
    help: "TABE's confusion target: u ~ U(0,1) per element (the study's code) or 1/K " +
      "(Alvi et al.'s paper)",
    value: "<kind>",
  }),
  labelAwareAux: option(z.boolean().default(false), {
    help: "bias heads are also told the true label (Zhang et al. 2018; not in the " +
      "study), so they learn only the bias the label does not explain",
  }),
};

/**
 * When the unlearning terms act (experiments/unlearning-schedule.ts): a plain baseline stage
 * first, the strengths' warm-up, and the unlearning stage's learning-rate factor.
 */
export const unlearningScheduleFields = {
  baselineEpochs: option(count("--baseline-epochs", 0).default(0), {
    help: "epochs of plain baseline training before the bias heads start (the study's " +
      "trained-baseline-then-debias order; every method trains these plus --epochs)",
    value: "<n>",
  }),
  warmupEpochs: option(nonNegative("--warmup-epochs").default(0), {
    help: "epochs over which lambda, alpha and the GRL scale ramp linearly from 0",
    value: "<x>",
  }),
  debiasLrFactor: option(
    nonNegative("--debias-lr-factor").pipe(z.number().positive("--debias-lr-factor must be > 0"))
      .default(1),
    {
      help: "learning rates of the unlearning stage relative to the baseline stage's",
      value: "<x>",
    },
  ),
  lrDecay: option(z.enum(LR_DECAYS).default("constant"), {
    help: "the unlearning stage's learning rates: constant, or cosine (annealed to 0 by its " +
      "last step, so runs end at settled weights)",
    value: "<kind>",
  }),
};

/** The compute backend: auto picks a hardware GPU, else the fastest CPU path. */
export const backendField = option(z.enum(BACKEND_CHOICES).default("auto"), {
  help: "auto, webgpu, cpu (WASM SIMD) or cpu-reference (TypeScript oracle)",
  value: "<name>",
});

/** GEMM precision of the training steps (nn/autocast.ts, nn/optim/loss-scaler.ts). */
export const precisionField = option(z.enum(PRECISIONS).default("f32"), {
  help: "training precision: f16 is mixed precision (matmul and convolution operands and " +
    "results rounded to half, dynamic loss scaling, f32 master weights; f16 tiles where a GPU " +
    "has shader-f16); evaluation stays f32",
  value: "<p>",
});

/** Backend, precision, output folder (per command), loss read-back interval and progress bar. */
export function runReportFields(outDir: string) {
  return {
    backend: backendField,
    precision: precisionField,
    outDir: option(z.string().min(1).default(outDir), {
      help: "where the table goes",
      value: "<dir>",
    }),
    readEvery: option(count("--read-every", 1).default(20), {
      help: "steps between loss read-backs",
      value: "<n>",
    }),
    quiet: option(z.boolean().default(false), { help: "no per-batch progress bar" }),
  };
}

/** The strengths and learning rates resolveDebias takes, under the names every command shares. */
export type DebiasStrengths = Required<
  Pick<
    DebiasOptions,
    "lambdaa" | "alpha" | "lrBase" | "lrClass" | "momentum" | "grlScale" | "confusionTarget"
  >
>;

/** Picks a command's unlearning strengths and learning rates for resolveDebias. */
export function debiasStrengths(o: DebiasStrengths): DebiasStrengths {
  const { lambdaa, alpha, lrBase, lrClass, momentum, grlScale, confusionTarget } = o;
  return { lambdaa, alpha, lrBase, lrClass, momentum, grlScale, confusionTarget };
}
