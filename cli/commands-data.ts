/** `download` and `demo`: the commands that fetch data and show the toolkit working offline. */

import { z } from "zod";
import { runDownload } from "../data/download-command.ts";
import { runMnistDemo } from "../experiments/mnist-demo.ts";
import { setDefaultBackend } from "../nn/tensor.ts";
import { backendOption, backendSchema, chooseBackend } from "./backend-option.ts";
import type { CommandSpec } from "./command-line.ts";

const positiveInt = z.coerce.number().int().positive();

const downloadSchema = z.object({
  only: z.string().optional(),
  imageSize: positiveInt,
  dir: z.string().min(1),
  workers: positiveInt.optional(),
  heidelbergDir: z.string().optional(),
});

export const downloadCommand: CommandSpec<typeof downloadSchema> = {
  name: "download",
  description: "download, verify, extract and crop/resize every dataset of the study (resumable)",
  options: [
    { flags: "--only <names>", description: "comma-separated dataset names (default: all)" },
    { flags: "--image-size <n>", description: "side of the square images", default: "256" },
    {
      flags: "--dir <path>",
      description: "data root (csv/, raw_images/, images/)",
      default: "./data",
    },
    { flags: "--workers <n>", description: "parallel preprocessing workers" },
    { flags: "--heidelberg-dir <path>", description: "folder of the private Heidelberg sets" },
  ],
  schema: downloadSchema,
  run: async (o) => {
    const report = await runDownload({
      only: o.only?.split(",").map((s) => s.trim()).filter(Boolean),
      imageSize: o.imageSize,
      dir: o.dir,
      workers: o.workers,
      heidelbergDir: o.heidelbergDir,
    });
    if (!report.ok) Deno.exit(1);
  },
};

const demoSchema = z.object({
  backend: backendSchema,
  epochs: positiveInt,
  trainSize: positiveInt.max(60000),
  testSize: positiveInt.max(10000),
  batchSize: positiveInt,
  seed: z.coerce.number().int().nonnegative(),
});

export const demoCommand: CommandSpec<typeof demoSchema> = {
  name: "demo",
  description: "offline demo: train a small CNN on an MNIST subset and report held-out accuracy",
  options: [
    backendOption,
    { flags: "--epochs <n>", description: "training epochs", default: "4" },
    { flags: "--train-size <n>", description: "training digits", default: "2000" },
    { flags: "--test-size <n>", description: "held-out digits", default: "1000" },
    { flags: "--batch-size <n>", description: "batch size", default: "32" },
    { flags: "--seed <n>", description: "random seed", default: "0" },
  ],
  schema: demoSchema,
  run: async (o) => {
    const backend = await chooseBackend(o.backend);
    setDefaultBackend(backend);
    const result = await runMnistDemo({
      backend,
      epochs: o.epochs,
      trainSize: o.trainSize,
      testSize: o.testSize,
      batchSize: o.batchSize,
      seed: o.seed,
      log: (line) => console.log(line),
      progress: {},
    });
    console.log(
      `held-out accuracy ${(100 * result.accuracy).toFixed(2)} % on ${o.testSize} digits ` +
        `after ${o.epochs} epochs (${result.seconds.toFixed(1)} s on ${result.backend})`,
    );
  },
};
