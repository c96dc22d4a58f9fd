/**
 * Options of `cli.ts train` (and `evaluate`, `experiments run`): every option of the study's
 * train.py under its original spelling, plus this toolkit's own (backend, synthetic data,
 * resume, weights). One zod schema is the single source of each default, type and help text;
 * combinations the schema alone cannot judge are checked by {@link trainOptionProblems} after
 * the test-no preset has been merged in.
 */

import { join } from "node:path";
import { z } from "zod";
import { DEBIAS_CONFIG_NAMES } from "../debias/config.ts";
import { LR_DECAYS } from "../nn/optim/lr-decay.ts";
import { backendField, precisionField, unlearningTermFields } from "./debias-options.ts";
import { option } from "./option-schema.ts";
import { count, nonNegative, number } from "./option-parsers.ts";

/** The study's --debias-config values, plus CLGR as a tidy name for TABE --GRL. */
export const TRAIN_DEBIAS_CONFIGS = [...DEBIAS_CONFIG_NAMES, "CLGR"] as const;

export const TRAIN_DATASETS = ["ISIC", "Fitzpatrick17k", "synth"] as const;

const flag = (help: string, extra: { flag?: string; aliases?: string[] } = {}) =>
  option(z.boolean().default(false), { help, ...extra });

/** "true"/"false"/"1"/"0"/"yes"/"no" or a bare flag (commander gives true). */
const booleanish = (what: string) =>
  z.union([z.boolean(), z.string()]).transform((v, ctx) => {
    if (typeof v === "boolean") return v;
    const s = v.trim().toLowerCase();
    if (["true", "1", "yes", "on"].includes(s)) return true;
    if (["false", "0", "no", "off"].includes(s)) return false;
    ctx.addIssue({ code: "custom", message: `${what} takes true or false` });
    return z.NEVER;
  });

const correlation = (what: string) =>
  number(what).pipe(z.number().min(-1, `${what} must be in [-1, 1]`).max(1));

export const trainSchema = z.object({
  testNo: option(
    z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
      message: "a test number or name of letters, digits, '-', '_' and '.' (it names the folder)",
    }),
    { help: "experiment number: names the results folders and picks the study's preset" },
  ),
  preset: option(z.boolean().default(true), {
    help: "use the study's flags for --test-no as defaults",
    negate: "--no-preset",
  }),
  arch: option(z.string().min(1).default("resnext101"), {
    help: "trunk: resnext101, enet, resnet101, densenet, inception, or any registered model",
    value: "<name>",
  }),
  enetType: option(z.string().min(1).default("efficientnet_b3"), {
    help: "EfficientNet variant when --arch enet",
    value: "<name>",
  }),
  dropPath: option(
    nonNegative("--drop-path").pipe(z.number().lt(1, "--drop-path must be < 1")).default(0),
    {
      help: "EfficientNet's stochastic depth: the last block's drop rate (off, as in geffnet)",
      value: "<rate>",
    },
  ),
  pretrained: option(booleanish("--pretrained").default(false), {
    help: "start from the trunk's ImageNet weights (timm's safetensors); false trains from scratch",
    value: "[bool]",
  }),
  weights: option(z.string().min(1).optional(), {
    help: "initial weights: a local .safetensors state dict of the trunk (strict; overrides " +
      "--pretrained)",
    value: "<path>",
  }),
  hubUrl: option(z.string().min(1).optional(), {
    help: "base URL of the Hugging Face hub for --pretrained (default $SDU_HUB_URL, " +
      "$HF_ENDPOINT or https://huggingface.co); weights are cached under $SDU_CACHE",
    value: "<url>",
  }),
  dataset: option(z.enum(TRAIN_DATASETS).default("ISIC"), {
    help: "ISIC, Fitzpatrick17k, or synth (the synthetic skin artefacts, offline)",
    value: "<name>",
  }),
  heidTestMarked: flag("test on the Heidelberg plain + marked sets", {
    flag: "--heid-test_marked",
    aliases: ["--heid-test-marked"],
  }),
  heidTestRulers: flag("test on the Heidelberg plain + rulers sets", {
    flag: "--heid-test_rulers",
    aliases: ["--heid-test-rulers"],
  }),
  heidelbergDir: option(z.string().min(1).optional(), {
    help: "the prepared Heidelberg images (default <image-dir>/hh_test_<image-size>, " +
      "as `deno task download --only heidelberg` leaves them)",
    value: "<path>",
  }),
  tune: flag("test only on the validation split (2018 data, 33 %)"),
  debiasConfig: option(z.enum(TRAIN_DEBIAS_CONFIGS).default("baseline"), {
    help: "baseline, LNTL, TABE, both, doubleTABE, doubleLNTL (CLGR = TABE --GRL)",
    value: "<name>",
  }),
  GRL: flag("gradient reversal in the auxiliary phase (TABE + GRL = CLGR)", {
    flag: "--GRL",
    aliases: ["--grl"],
  }),
  switchHeads: flag("swap the bias labels of the two auxiliary heads"),
  deepAux: flag("auxiliary heads get a 128-unit hidden layer"),
  marked: flag("the auxiliary head learns surgical markings"),
  rulers: flag("the auxiliary head learns rulers (label column scale)"),
  instrument: flag("the auxiliary head learns the imaging instrument (8 classes)"),
  seed: option(count("--seed", 0).default(0), { help: "all random seeds", value: "<n>" }),
  batchSize: option(count("--batch-size", 2).default(64), {
    help: "mini-batch size",
    value: "<n>",
  }),
  numWorkers: option(count("--num-workers", 0).default(16), {
    help: "data-loading workers (0: load on the main thread)",
    value: "<n>",
  }),
  lrBase: option(nonNegative("--lr-base").default(0.0003), {
    help: "SGD lr of encoder and main head (and the LNTL head)",
    value: "<x>",
  }),
  lrClass: option(nonNegative("--lr-class").default(0.003), {
    help: "SGD lr of TABE's head and boosted encoder optimiser",
    value: "<x>",
  }),
  ...unlearningTermFields,
  lrDecay: option(z.enum(LR_DECAYS).default("constant"), {
    help: "learning rates over the run: constant (the study), or cosine (annealed to 0 by the " +
      "last step, so a run ends at settled weights; an extension)",
    value: "<kind>",
  }),
  momentum: option(nonNegative("--momentum").default(0.9), {
    help: "SGD momentum",
    value: "<x>",
  }),
  nEpochs: option(count("--n-epochs", 1).default(15), { help: "epochs", value: "<n>" }),
  saveEpoch: option(count("--save-epoch", 1).default(1), {
    help: "checkpoint every n epochs",
    value: "<n>",
  }),
  outDim: option(count("--out-dim", 1).default(1), {
    help: "main head outputs (1: one logit, BCE-with-logits)",
    value: "<n>",
  }),
  numAux: option(count("--num-aux", 2).default(2), {
    help: "classes of auxiliary head 1 (8 for --instrument)",
    value: "<n>",
  }),
  numAux2: option(count("--num-aux2", 2).default(2), {
    help: "classes of auxiliary head 2",
    value: "<n>",
  }),
  duplicationsM: option(count("--duplications_m", 0).default(20), {
    help: "copies of malignant marked images under --skew",
    flag: "--duplications_m",
    aliases: ["--duplications-m"],
    value: "<n>",
  }),
  duplicationsR: option(count("--duplications_r", 0).default(18), {
    help: "copies of malignant ruler images under --skew",
    flag: "--duplications_r",
    aliases: ["--duplications-r"],
    value: "<n>",
  }),
  imageDir: option(z.string().min(1).default("./data/images"), {
    help: "root of the image folders (as `deno task download` leaves them)",
    value: "<path>",
  }),
  csvDir: option(z.string().min(1).default("./data/csv"), {
    help: "folder of the label CSVs",
    value: "<path>",
  }),
  modelDir: option(z.string().min(1).default("./results/weights"), {
    help: "checkpoints go to <model-dir>/<test-no>/",
    value: "<path>",
  }),
  plotDir: option(z.string().min(1).default("./results/plots"), {
    help: "figures go to <plot-dir>/<test-no>/",
    value: "<path>",
  }),
  logDir: option(z.string().min(1).default("./results/logs"), {
    help: "the run folder <log-dir>/<test-no>/: config, log, metrics, ROC, predictions",
    value: "<path>",
  }),
  imageSize: option(count("--image-size", 8).default(256), {
    help: "image side in pixels",
    value: "<n>",
  }),
  DEBUG: flag("3 batches per epoch", { flag: "--DEBUG", aliases: ["--debug"] }),
  testOnly: flag("load the weights of --test-no and only evaluate"),
  skew: flag("skew marked/ruler data: drop benign ones, duplicate malignant ones"),
  cv: flag("5-fold cross-validation"),
  CUDA_VISIBLE_DEVICES: option(z.string().default("0"), {
    help: "which GPU adapter to use (ours: WebGPU adapter preference; see the log)",
    flag: "--CUDA_VISIBLE_DEVICES",
    aliases: ["--gpus"],
    value: "<ids>",
  }),
  resume: flag("continue a killed run from its last checkpoint"),
  synthCorrelation: option(correlation("--synth-correlation").default(0.9), {
    help: "--dataset synth: correlation of the chosen artefact with malignancy in training",
    value: "<c>",
  }),
  synthTrainSize: option(count("--synth-train-size", 8).default(2000), {
    help: "--dataset synth: training lesions",
    value: "<n>",
  }),
  synthTestSize: option(count("--synth-test-size", 4).default(500), {
    help: "--dataset synth: lesions per test set",
    value: "<n>",
  }),
  backend: backendField,
  precision: precisionField,
  readEvery: option(count("--read-every", 1).default(20), {
    help: "steps between loss read-backs",
    value: "<n>",
  }),
  quiet: flag("no progress bars"),
});

export type TrainOptions = z.infer<typeof trainSchema>;

/**
 * Combinations the study's code would have failed on (or silently mis-run), each as one line
 * naming the options and the fix; empty when the options are consistent.
 */
export function trainOptionProblems(
  o: TrainOptions,
  folderExists: (path: string) => boolean = isFolder,
): string[] {
  const problems: string[] = [];
  const config = o.debiasConfig === "CLGR" ? "TABE" : o.debiasConfig;
  const twoHeads = ["both", "doubleTABE", "doubleLNTL"].includes(config);
  if (o.switchHeads && !twoHeads) {
    problems.push(
      `--switch-heads swaps the labels of two auxiliary heads, but --debias-config ` +
        `${o.debiasConfig} has ${config === "baseline" ? "none" : "one"}; use both, ` +
        `doubleTABE or doubleLNTL, or drop --switch-heads`,
    );
  }
  const heid = o.heidTestMarked
    ? "--heid-test_marked"
    : o.heidTestRulers
    ? "--heid-test_rulers"
    : "";
  if (heid && o.dataset !== "synth" && !folderExists(heidelbergFolder(o))) {
    problems.push(
      `${heid} needs the private Heidelberg sets, but ${heidelbergFolder(o)} does not exist: ` +
        `prepare them with \`deno task download --only heidelberg --heidelberg-dir PATH\` ` +
        `(or point --heidelberg-dir at the prepared folder), or use --dataset synth for the ` +
        `synthetic plain / marked / ruler sets`,
    );
  }
  if (o.heidTestMarked && o.heidTestRulers) {
    problems.push("--heid-test_marked and --heid-test_rulers: choose one test pair per run");
  }
  // The head that sees the instrument: head 1 normally, head 2 under --switch-heads.
  if (o.instrument && config !== "baseline") {
    const instrumentHead = twoHeads && o.switchHeads ? "--num-aux2" : "--num-aux";
    const classes = instrumentHead === "--num-aux" ? o.numAux : o.numAux2;
    if (classes !== 8) {
      problems.push(
        `--instrument has 8 classes (the eight most frequent image sizes), but ${instrumentHead} ` +
          `is ${classes}; add ${instrumentHead} 8`,
      );
    }
  }
  if (!o.instrument && config !== "baseline") {
    for (const [name, classes] of [["--num-aux", o.numAux], ["--num-aux2", o.numAux2]] as const) {
      if (name === "--num-aux2" && !twoHeads) continue;
      if (classes !== 2) {
        problems.push(`${name} ${classes}: markings and rulers are binary; use ${name} 2`);
      }
    }
  }
  if (config !== "baseline" && !o.marked && !o.rulers && !o.instrument && !twoHeads) {
    problems.push(
      `--debias-config ${o.debiasConfig} needs a bias label: add --marked, --rulers or --instrument`,
    );
  }
  if (o.outDim !== 1) {
    problems.push(`--out-dim ${o.outDim}: the study's main head has one logit; use --out-dim 1`);
  }
  if (o.tune && (o.heidTestMarked || o.heidTestRulers)) {
    problems.push(`--tune tests on the validation split only; it cannot be combined with ${heid}`);
  }
  if (o.cv && o.testOnly) {
    problems.push("--cv trains five folds; --test-only evaluates saved weights: choose one");
  }
  if (o.dataset === "Fitzpatrick17k" && (o.marked || o.rulers || o.instrument)) {
    problems.push(
      "--dataset Fitzpatrick17k has no marking, ruler or instrument labels; " +
        "drop --marked / --rulers / --instrument",
    );
  }
  return problems;
}

/** Where the Heidelberg test images are read from. */
export function heidelbergFolder(
  o: Pick<TrainOptions, "heidelbergDir" | "imageDir" | "imageSize">,
) {
  return o.heidelbergDir ?? join(o.imageDir, `hh_test_${o.imageSize}`);
}

function isFolder(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The method's short name: CLGR for TABE + GRL, "X+GRL" for other reversed configurations. */
export function methodName(o: Pick<TrainOptions, "debiasConfig" | "GRL">): string {
  if (o.debiasConfig === "CLGR") return "CLGR";
  if (o.debiasConfig === "TABE" && o.GRL) return "CLGR";
  if (o.debiasConfig === "baseline") return "baseline";
  return o.GRL ? `${o.debiasConfig}+GRL` : o.debiasConfig;
}
