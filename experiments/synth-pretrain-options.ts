/**
 * Options of `cli.ts synth-pretrain`: one zod schema whose fields carry their help. The defaults
 * rebuild the shipped trunk (experiments/weights/synth-trunk.safetensors) for `synth`'s default
 * geometry (64 px, width 16).
 */

import { z } from "zod";
import { backendField } from "./debias-options.ts";
import { option } from "./option-schema.ts";
import { count, nonNegative } from "./option-parsers.ts";
import { SHIPPED_SYNTH_TRUNK } from "./synth-pretrain.ts";

export const synthPretrainSchema = z.object({
  seed: option(count("--seed", 0).default(1000), {
    help: "seed of the pretraining lesions and the initialisation (keep it off synth's --seeds)",
    value: "<n>",
  }),
  artefacts: option(z.enum(["none", "uncorrelated"]).default("none"), {
    help: "markings and rulers in the pretraining lesions: none (like ImageNet, which never " +
      "taught a trunk to ignore them), or uncorrelated with malignancy",
    value: "<kind>",
  }),
  trainSize: option(count("--train-size", 8).default(6000), {
    help: "uncorrelated training lesions",
    value: "<n>",
  }),
  valSize: option(count("--val-size", 4).default(1000), {
    help: "held-out lesions the pretraining AUC is measured on",
    value: "<n>",
  }),
  epochs: option(count("--epochs", 1).default(10), { help: "epochs", value: "<n>" }),
  imageSize: option(count("--image-size", 16).default(64), {
    help: "image side in pixels (synth --image-size must match)",
    value: "<n>",
  }),
  width: option(count("--width", 1).default(16), {
    help: "channels of the trunk's first stage (synth --width must match)",
    value: "<n>",
  }),
  batchSize: option(count("--batch-size", 2).default(32), {
    help: "mini-batch size",
    value: "<n>",
  }),
  lr: option(nonNegative("--lr").default(0.01), { help: "SGD learning rate", value: "<x>" }),
  momentum: option(nonNegative("--momentum").default(0.9), {
    help: "SGD momentum",
    value: "<x>",
  }),
  out: option(z.string().min(1).default(SHIPPED_SYNTH_TRUNK), {
    help: "where the trunk's safetensors go",
    value: "<path>",
  }),
  backend: backendField,
  quiet: option(z.boolean().default(false), { help: "no per-batch progress bar" }),
});
