/** `download` and `mnist`: the commands that fetch data and check the engine offline. */

import { z } from "zod";
import { runDownload } from "../data/download-command.ts";
import { verifyDownloads } from "../data/download-verify.ts";
import { runMnistDemo } from "../experiments/mnist-demo.ts";
import { setDefaultBackend } from "../nn/tensor.ts";
import { backendField } from "../experiments/debias-options.ts";
import { option } from "../experiments/option-schema.ts";
import { count } from "../experiments/option-parsers.ts";
import { chooseBackend } from "./backend-option.ts";
import type { CommandSpec } from "./command-line.ts";

const positiveInt = (what: string) => count(what, 1);

const downloadSchema = z.object({
  only: option(z.string().optional(), {
    help: "comma-separated dataset names (default: all)",
    value: "<names>",
  }),
  imageSize: option(positiveInt("--image-size").default(256), {
    help: "side of the square images",
    value: "<n>",
  }),
  dir: option(z.string().min(1).default("./data"), {
    help: "data root (csv/, raw_images/, images/)",
    value: "<path>",
  }),
  workers: option(positiveInt("--workers").optional(), {
    help: "parallel preprocessing workers",
    value: "<n>",
  }),
  heidelbergDir: option(z.string().optional(), {
    help: "folder of the private Heidelberg sets",
    value: "<path>",
  }),
  verify: option(z.boolean().default(false), {
    help: "fetch nothing: check every downloaded file against <dir>/download-lock.json " +
      "(sha256, archive CRCs, CSV rows) and exit 1 on any mismatch",
  }),
  allowIncomplete: option(z.boolean().default(false), {
    help: "accept datasets with fewer images than expected (otherwise a failure)",
  }),
});

export const downloadCommand: CommandSpec<typeof downloadSchema> = {
  name: "download",
  description: "download, verify, extract and crop/resize every dataset of the study (resumable)",
  schema: downloadSchema,
  run: async (o) => {
    if (o.verify) {
      if (!(await verifyDownloads({ dir: o.dir })).ok) Deno.exit(1);
      return;
    }
    const report = await runDownload({
      allowIncomplete: o.allowIncomplete,
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
  backend: backendField,
  epochs: option(positiveInt("--epochs").default(4), { help: "training epochs", value: "<n>" }),
  trainSize: option(positiveInt("--train-size").pipe(z.number().max(60000)).default(2000), {
    help: "training digits",
    value: "<n>",
  }),
  testSize: option(positiveInt("--test-size").pipe(z.number().max(10000)).default(1000), {
    help: "held-out digits",
    value: "<n>",
  }),
  batchSize: option(positiveInt("--batch-size").default(32), { help: "batch size", value: "<n>" }),
  seed: option(count("--seed", 0).default(0), { help: "random seed", value: "<n>" }),
});

export const mnistCommand: CommandSpec<typeof demoSchema> = {
  name: "mnist",
  description:
    "engine sanity check: train a small CNN on an MNIST subset, report held-out accuracy",
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
