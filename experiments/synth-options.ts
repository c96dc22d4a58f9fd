/**
 * Options of `cli.ts synth`: one zod schema whose fields carry their help, validating commander's
 * raw strings into {@link SynthOptions}. Learning rates default higher than the study's (0.0003),
 * which fine-tuned ImageNet trunks; this trunk trains from scratch.
 */

import { z } from "zod";
import {
  runReportFields,
  unlearningScheduleFields,
  unlearningTermFields,
} from "./debias-options.ts";
import { DEBIAS_CONFIG_NAMES } from "../debias/config.ts";
import { option } from "./option-schema.ts";
import { count, list, nonNegative, number } from "./option-parsers.ts";

/** A method: a --debias-config, optionally "+GRL"; "CLGR" is TABE+GRL. */
export const SYNTH_METHODS = [
  ...DEBIAS_CONFIG_NAMES,
  ...DEBIAS_CONFIG_NAMES.filter((c) => c !== "baseline").map((c) => `${c}+GRL`),
  "CLGR",
] as const;

const correlation = (what: string) =>
  number(what).pipe(z.number().min(-1, `${what} must be in [-1, 1]`).max(1));

const flag = (help: string) => option(z.boolean().default(false), { help });

export const synthSchema = z.object({
  marked: flag("unlearn surgical markings (bias label `marked`)"),
  rulers: flag("unlearn rulers (bias label `scale`)"),
  instrument: flag("unlearn the instrument (8 classes)"),
  debiasConfig: option(
    list(z.enum(SYNTH_METHODS)).default(["baseline", "LNTL+GRL", "TABE", "CLGR"]),
    {
      help: "methods, comma-separated: a --debias-config, optionally +GRL, or CLGR",
      value: "<list>",
    },
  ),
  switchHeads: flag("swap the bias labels of two-head methods"),
  deepAux: flag("bias heads with a 128-unit hidden layer"),
  correlation: option(correlation("--correlation").default(0.9), {
    help: "phi correlation of the chosen artefact(s) with malignancy in training",
    value: "<c>",
  }),
  otherCorrelation: option(correlation("--other-correlation").default(0), {
    help: "correlation of the artefacts not chosen",
    value: "<c>",
  }),
  instrumentShift: option(z.enum(["independent", "reversed"]).default("independent"), {
    help: "instrument test set: styles independent of the label, or reversed",
    value: "<kind>",
  }),
  seeds: option(list(count("seed", 0)).default([0]), {
    help: "seeds, comma-separated",
    value: "<list>",
  }),
  epochs: option(count("--epochs", 1).default(10), { help: "epochs", value: "<n>" }),
  trainSize: option(count("--train-size", 8).default(2000), {
    help: "training lesions",
    value: "<n>",
  }),
  testSize: option(count("--test-size", 4).default(500), {
    help: "lesions per test set",
    value: "<n>",
  }),
  imageSize: option(count("--image-size", 16).default(64), {
    help: "image side in pixels",
    value: "<n>",
  }),
  width: option(count("--width", 1).default(16), {
    help: "channels of the trunk's first stage",
    value: "<n>",
  }),
  batchSize: option(count("--batch-size", 2).default(64), {
    help: "mini-batch size",
    value: "<n>",
  }),
  lrBase: option(nonNegative("--lr-base").default(0.01), {
    help: "lr of encoder, main and LNTL heads",
    value: "<x>",
  }),
  lrClass: option(nonNegative("--lr-class").default(0.01), {
    help: "lr of TABE heads and boosted encoder",
    value: "<x>",
  }),
  momentum: option(nonNegative("--momentum").default(0.9), {
    help: "SGD momentum",
    value: "<x>",
  }),
  balanceGroups: flag(
    "draw training lesions so every (malignancy, chosen artefact) group is " +
      "equally frequent (resampling, a data-level baseline; not in the study)",
  ),
  initWeights: option(z.string().min(1).optional(), {
    help: "start every method's trunk from this pretrained synthetic trunk (safetensors from " +
      "cli.ts synth-pretrain, e.g. experiments/weights/synth-trunk.safetensors) instead of " +
      "random weights",
    value: "<path>",
  }),
  ...unlearningTermFields,
  ...unlearningScheduleFields,
  ...runReportFields("results/synth"),
});

export type SynthOptions = z.infer<typeof synthSchema>;
export type SynthMethod = (typeof SYNTH_METHODS)[number];
