/**
 * The options `cli.ts cmnist` and `cli.ts synth` share, as command-line data and as zod fields:
 * the unlearning terms' strengths, and where and how a run reports. One definition, so the two
 * commands cannot drift apart in names, help or defaults.
 */

import { z } from "zod";
import { CONFUSION_TARGETS } from "../debias/losses.ts";
import { BACKEND_CHOICES } from "../gpu/select.ts";
import type { OptionSpec } from "./option-spec.ts";
import { count, nonNegative } from "./option-parsers.ts";

/**
 * LNTL's and TABE's weights, the gradient-reversal scale, TABE's confusion target, and whether the
 * bias heads are told the label.
 */
export const unlearningTermSpecs: OptionSpec[] = [
  { flags: "--lambdaa <x>", description: "LNTL term weight", default: "0.01" },
  { flags: "--alpha <x>", description: "TABE confusion weight", default: "0.03" },
  { flags: "--grl-scale <x>", description: "gradient-reversal scale", default: "0.1" },
  {
    flags: "--confusion-target <kind>",
    description: "TABE's confusion target: u ~ U(0,1) per element (the study's code) or 1/K " +
      "(Alvi et al.'s paper)",
    default: "uniform-random",
    choices: CONFUSION_TARGETS,
  },
  {
    flags: "--label-aware-aux",
    description: "bias heads are also told the true label (Zhang et al. 2018; not in the " +
      "study), so they learn only the bias the label does not explain",
  },
];

export const unlearningTermFields = {
  lambdaa: nonNegative("--lambdaa").default(0.01),
  alpha: nonNegative("--alpha").default(0.03),
  grlScale: nonNegative("--grl-scale").default(0.1),
  confusionTarget: z.enum(CONFUSION_TARGETS).default("uniform-random"),
  labelAwareAux: z.boolean().default(false),
};

/** Backend, output folder (per command), loss read-back interval and progress bar. */
export function runReportSpecs(outDir: string): OptionSpec[] {
  return [
    {
      flags: "--backend <name>",
      description: "auto, webgpu, cpu (WASM SIMD) or cpu-reference (TypeScript oracle)",
      default: "auto",
      choices: [...BACKEND_CHOICES],
    },
    { flags: "--out-dir <dir>", description: "where the table goes", default: outDir },
    { flags: "--read-every <n>", description: "steps between loss read-backs", default: "20" },
    { flags: "--quiet", description: "no per-batch progress bar" },
  ];
}

export function runReportFields(outDir: string) {
  return {
    backend: z.enum(BACKEND_CHOICES).default("auto"),
    outDir: z.string().min(1).default(outDir),
    readEvery: count("--read-every", 1).default(20),
    quiet: z.boolean().default(false),
  };
}
