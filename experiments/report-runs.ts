/**
 * The report's input: run folders as `train` leaves them (see run-layout.ts), read and checked
 * with errors that name the file, and grouped into configurations: runs whose resolved options
 * agree in everything but the seed, the test number and where files go, i.e. the seeds of one
 * experiment.
 */

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { readSafetensors } from "../nn/safetensors.ts";
import {
  type EpochRecord,
  type MetricsFile,
  type PredictionsFile,
  type RocFile,
  RUN_FILES,
  type RunConfigFile,
} from "./run-layout.ts";

/** Pooled trunk features of one test set with the labels known for its images. */
export interface SetFeatures {
  features: Float32Array;
  dim: number;
  /** `target` and each bias label (-1 unknown), one value per image. */
  labels: Record<string, Int32Array>;
}

/** Everything the report reads of one run; the optional parts may be missing from the folder. */
export interface ReportRun {
  folder: string;
  config: RunConfigFile;
  metrics: MetricsFile;
  roc?: RocFile;
  predictions?: PredictionsFile;
  epochs?: EpochRecord[];
  features: Record<string, SetFeatures>;
  /** Saliency PNGs found under the run's plots folder. */
  saliency: string[];
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");
/** JSON has no NaN: an undefined metric (a set of one class) is written as null. */
const metric = z.number().nullable().transform((v) => v ?? NaN);
const setMetrics = z.object({
  n: z.number().int().nonnegative(),
  positives: z.number().int().nonnegative(),
  auc: metric,
  accuracy: metric,
  sensitivity: metric,
  specificity: metric,
  f1: metric,
}).passthrough();

const configFile = z.object({
  testNo: z.union([z.string(), z.number()]).transform(String),
  method: z.string().min(1),
  options: z.record(z.string(), z.unknown()),
  sources: z.record(z.string(), z.string()).default({}),
  dirs: z.object({ run: z.string(), weights: z.string(), plots: z.string() }).partial()
    .default({}),
  backend: z.string().default(""),
  started: z.string().default(""),
  heads: z.array(z.object({ column: z.string(), classes: z.number(), method: z.string() }))
    .default([]),
}).passthrough();

const metricsFile = z.object({
  testNo: z.union([z.string(), z.number()]).transform(String),
  method: z.string(),
  checkpoint: z.string().default(""),
  sets: z.record(z.string(), setMetrics),
  folds: z.array(z.record(z.string(), setMetrics)).optional(),
}).passthrough();

const rates = z.array(z.number());
const rocFile = z.record(
  z.string(),
  z.object({ fpr: rates, tpr: rates, thresholds: z.array(z.number().or(z.null())) }),
);

const predictionsFile = z.record(
  z.string(),
  z.object({
    imageNames: z.array(z.string()),
    scores: z.array(finite),
    targets: z.array(z.number().int()),
    bias: z.record(z.string(), z.array(z.number().int())).default({}),
  }),
);

const epochRecord = z.object({
  epoch: z.number().int(),
  fold: z.number().int().optional(),
  steps: z.number(),
  loss: z.object({
    total: z.number().nullable(),
    main: z.number().nullable(),
    aux: z.array(z.number().nullable()),
  }),
  valAuc: z.number().nullable().optional(),
  seconds: z.number(),
}).passthrough();

function parseWith<S extends z.ZodType>(schema: S, value: unknown, file: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new Error(`${file}${where}: ${issue.message}`);
  }
  return parsed.data;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

const nullToNaN = (v: number | null | undefined) => v ?? NaN;

function readEpochs(file: string): EpochRecord[] {
  const lines = Deno.readTextFileSync(file).split("\n").filter((l) => l.trim());
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file} line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
    // JSON has no NaN: a diverged loss is written as null.
    const r = parseWith(epochRecord, value, `${file} line ${i + 1}`);
    return {
      ...r,
      loss: {
        total: nullToNaN(r.loss.total),
        main: nullToNaN(r.loss.main),
        aux: r.loss.aux.map(nullToNaN),
      },
      valAuc: r.valAuc === undefined ? undefined : nullToNaN(r.valAuc),
    } as EpochRecord;
  });
}

async function readFeatures(dir: string): Promise<Record<string, SetFeatures>> {
  const out: Record<string, SetFeatures> = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir).sort()) {
    if (!entry.endsWith(".safetensors")) continue;
    const file = join(dir, entry);
    const { tensors } = await readSafetensors(file);
    const features = tensors.get("features");
    if (!features || features.shape.length !== 2 || features.dtype !== "f32") {
      throw new Error(`${file}: needs an f32 tensor "features" of shape [N, D]`);
    }
    const [n, dim] = features.shape;
    const labels: Record<string, Int32Array> = {};
    for (const [name, t] of tensors) {
      if (name === "features") continue;
      if (t.shape.length !== 1 || t.shape[0] !== n || t.dtype !== "i32") {
        throw new Error(
          `${file}: label "${name}" must be [${n}] integers, got [${t.shape}] ${t.dtype}`,
        );
      }
      labels[name] = t.data as Int32Array;
    }
    out[entry.slice(0, -".safetensors".length)] = {
      features: features.data as Float32Array,
      dim,
      labels,
    };
  }
  return out;
}

function saliencyFiles(plotsDir: string | undefined): string[] {
  if (!plotsDir) return [];
  const dir = join(plotsDir, "saliency");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".png")).sort().map((f) => join(dir, f));
}

/** Reads one run folder (the one holding config.json). */
export async function readRun(folder: string): Promise<ReportRun> {
  const file = (name: string) => join(folder, name);
  if (!existsSync(file(RUN_FILES.config))) {
    throw new Error(
      `${folder} is not a run folder: it has no ${RUN_FILES.config} (a run folder is ` +
        `<log-dir>/<test-no>, e.g. results/logs/12)`,
    );
  }
  const config = parseWith(configFile, readJson(file(RUN_FILES.config)), file(RUN_FILES.config));
  if (!existsSync(file(RUN_FILES.metrics))) {
    throw new Error(
      `${folder} has no ${RUN_FILES.metrics}: run ${config.testNo} did not reach its test sets; ` +
        `\`deno run -A cli.ts evaluate --test-no ${config.testNo}\` writes them from its weights`,
    );
  }
  const metrics = parseWith(
    metricsFile,
    readJson(file(RUN_FILES.metrics)),
    file(RUN_FILES.metrics),
  );
  const optional = <T>(name: string, read: (path: string) => T): T | undefined =>
    existsSync(file(name)) ? read(file(name)) : undefined;
  const roc = optional(RUN_FILES.roc, (p) => parseWith(rocFile, readJson(p), p) as RocFile);
  const predictions = optional(
    RUN_FILES.predictions,
    (p) => parseWith(predictionsFile, readJson(p), p),
  );
  for (const [set, p] of Object.entries(predictions ?? {})) {
    if (p.scores.length !== p.targets.length || p.imageNames.length !== p.targets.length) {
      throw new Error(
        `${file(RUN_FILES.predictions)}: set "${set}" has ${p.imageNames.length} names, ` +
          `${p.scores.length} scores and ${p.targets.length} targets`,
      );
    }
  }
  return {
    folder,
    config: config as RunConfigFile,
    metrics: metrics as MetricsFile,
    roc,
    predictions,
    epochs: optional(RUN_FILES.epochs, readEpochs),
    features: await readFeatures(file(RUN_FILES.featuresDir)),
    saliency: saliencyFiles(config.dirs.plots),
  };
}

/**
 * The run folders a list of paths names: a folder with config.json is a run; a folder without
 * one stands for every run folder directly inside it (e.g. results/logs).
 */
export function expandRunFolders(paths: readonly string[]): string[] {
  if (paths.length === 0) throw new Error("name at least one run folder to report on");
  const out: string[] = [];
  for (const path of paths) {
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new Error(`${path} is not a folder (name run folders, e.g. results/logs/12)`);
    }
    if (existsSync(join(path, RUN_FILES.config))) {
      out.push(path);
      continue;
    }
    const inside = readdirSync(path).sort().map((e) => join(path, e))
      .filter((p) => existsSync(join(p, RUN_FILES.config)));
    if (inside.length === 0) {
      throw new Error(
        `${path} holds no ${RUN_FILES.config}, nor do the folders in it; name run ` +
          `folders (<log-dir>/<test-no>, e.g. results/logs/12) or their parent`,
      );
    }
    out.push(...inside);
  }
  const seen = new Set<string>();
  return out.filter((p) => !seen.has(p) && seen.add(p) !== undefined);
}

/** Option keys that do not change what is trained (lower case, without `-` and `_`). */
const NOT_CONFIGURATION = new Set([
  "seed",
  "testno",
  "preset",
  "nopreset",
  "modeldir",
  "logdir",
  "plotdir",
  "imagedir",
  "csvdir",
  "heidelbergdir",
  "numworkers",
  "cudavisibledevices",
  "resume",
  "testonly",
  "backend",
  "readevery",
  "progress",
  "quiet",
  "verbose",
]);

const normalKey = (k: string) => k.toLowerCase().replace(/[-_]/g, "");

/** The options that define a configuration, as a canonical JSON string per key. */
export function configurationOptions(run: ReportRun): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(run.config.options)) {
    if (!NOT_CONFIGURATION.has(normalKey(k))) out[k] = JSON.stringify(v);
  }
  return out;
}

/** Runs of one configuration (its seeds). */
export interface Configuration {
  /** e.g. "CLGR", or "CLGR (lrBase=0.001)" where two configurations share a method. */
  label: string;
  method: string;
  runs: ReportRun[];
  options: Record<string, string>;
}

function seedOf(run: ReportRun): unknown {
  return run.config.options.seed;
}

/** An option value from its JSON for a label: strings bare, "—" where the option is absent. */
function shownValue(json: string | undefined): string {
  if (json === undefined) return "—";
  const v = JSON.parse(json);
  return typeof v === "string" ? v : json;
}

/** Groups runs into configurations, in the order of their first run; labels tell them apart. */
export function groupConfigurations(runs: readonly ReportRun[]): Configuration[] {
  const groups = new Map<string, Configuration>();
  for (const run of runs) {
    const options = configurationOptions(run);
    const key = JSON.stringify([run.config.method, Object.entries(options).sort()]);
    const group = groups.get(key);
    if (group) {
      const seed = seedOf(run);
      const twin = group.runs.find((r) => seedOf(r) === seed);
      if (twin) {
        throw new Error(
          `${twin.folder} and ${run.folder} are the same configuration with the same ` +
            `seed (${JSON.stringify(seed)}); name one of them`,
        );
      }
      group.runs.push(run);
    } else {groups.set(key, {
        label: run.config.method,
        method: run.config.method,
        runs: [run],
        options,
      });}
  }
  const list = [...groups.values()];
  for (const c of list) {
    const same = list.filter((o) => o.method === c.method);
    if (same.length < 2) continue;
    const keys = new Set(same.flatMap((o) => Object.keys(o.options)));
    const differing = [...keys].filter((k) => new Set(same.map((o) => o.options[k])).size > 1);
    const parts = differing.map((k) => `${k}=${shownValue(c.options[k])}`);
    c.label = `${c.method} (${parts.join(", ")})`;
  }
  return list;
}
