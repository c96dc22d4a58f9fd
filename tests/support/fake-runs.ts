/**
 * Run folders as `train` writes them (experiments/run-layout.ts), fabricated for the report's
 * tests: synthetic plain / marked / rulers test sets of the same lesions, scores whose
 * separation per set the caller chooses, and features in which the marking is decodable or not.
 */

import { join } from "node:path";
import { hashSeed, Rng } from "../../data/rng.ts";
import { rocAuc, rocCurve, thresholdMetrics } from "../../experiments/metrics.ts";
import type {
  EpochRecord,
  MetricsFile,
  PredictionsFile,
  RocFile,
  RunConfigFile,
  SetMetrics,
} from "../../experiments/run-layout.ts";
import { RUN_FILES } from "../../experiments/run-layout.ts";
import { saliencyPng } from "../../experiments/saliency.ts";
import { writeSafetensors } from "../../nn/safetensors.ts";

export const FAKE_SETS = ["plain", "marked", "rulers"] as const;

export interface FakeRun {
  testNo: string;
  method: string;
  seed: number;
  options?: Record<string, unknown>;
  /** Score separation (signal to noise) per test set. */
  separation: Record<(typeof FAKE_SETS)[number], number>;
  /** Strength of the marking in feature 0 (0: the marking is not decodable). */
  markedFeature: number;
  images?: number;
  saliency?: boolean;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Writes the run's files under `<root>/logs/<testNo>` (plots under `<root>/plots`). */
export async function writeFakeRun(root: string, run: FakeRun): Promise<string> {
  const dir = join(root, "logs", run.testNo);
  const plots = join(root, "plots", run.testNo);
  await Deno.mkdir(join(dir, RUN_FILES.featuresDir), { recursive: true });
  const n = run.images ?? 60;
  const lesions = new Rng(hashSeed(7, "lesions"));
  const targets: number[] = Array.from({ length: n }, () => (lesions.bernoulli(0.4) ? 1 : 0));
  const names = targets.map((_, i) => `lesion-${i}`);
  const config: RunConfigFile = {
    testNo: run.testNo,
    method: run.method,
    options: {
      testNo: run.testNo,
      seed: run.seed,
      dataset: "synth",
      arch: "resnet18",
      marked: true,
      nEpochs: 3,
      logDir: join(root, "logs"),
      ...run.options,
    },
    sources: { seed: "command line" },
    dirs: { run: dir, weights: join(root, "weights", run.testNo), plots },
    backend: "cpu",
    started: "2026-01-01T00:00:00.000Z",
    heads: run.method === "baseline" ? [] : [{ column: "marked", classes: 2, method: "TABE" }],
  };
  const sets: Record<string, SetMetrics> = {};
  const roc: RocFile = {};
  const predictions: PredictionsFile = {};
  for (const set of FAKE_SETS) {
    const noise = new Rng(hashSeed(run.seed, run.method, set));
    const scores = targets.map((t) => sigmoid(run.separation[set] * (t - 0.5) + noise.normal()));
    const m = thresholdMetrics(scores, targets);
    sets[set] = {
      n,
      positives: targets.reduce((a, b) => a + b, 0),
      auc: rocAuc(scores, targets),
      ...m,
    };
    roc[set] = rocCurve(scores, targets);
    const marked = targets.map(() => (set === "marked" ? 1 : 0));
    const scale = targets.map(() => (set === "rulers" ? 1 : 0));
    predictions[set] = { imageNames: names, scores, targets, bias: { marked, scale } };
    const dim = 6;
    const features = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      features[i * dim] = run.markedFeature * marked[i] + 0.3 * noise.normal();
      features[i * dim + 1] = targets[i] + 0.3 * noise.normal();
      for (let d = 2; d < dim; d++) features[i * dim + d] = noise.normal();
    }
    await writeSafetensors(join(dir, RUN_FILES.featuresDir, `${set}.safetensors`), [
      ["features", { dtype: "f32", shape: [n, dim], data: features }],
      ["target", { dtype: "i32", shape: [n], data: Int32Array.from(targets) }],
      ["marked", { dtype: "i32", shape: [n], data: Int32Array.from(marked) }],
      ["scale", { dtype: "i32", shape: [n], data: Int32Array.from(scale) }],
    ]);
  }
  const metrics: MetricsFile = {
    testNo: run.testNo,
    method: run.method,
    checkpoint: "epoch-3.safetensors",
    sets,
  };
  const epochs: EpochRecord[] = [1, 2, 3].map((epoch) => ({
    epoch,
    steps: 10,
    loss: { total: 1 / epoch, main: 0.6 / epoch, aux: config.heads.map(() => 0.4 / epoch) },
    valAuc: 0.6 + 0.1 * epoch,
    seconds: 2,
  }));
  const json = (v: unknown) => JSON.stringify(v, null, 2);
  await Deno.writeTextFile(join(dir, RUN_FILES.config), json(config));
  await Deno.writeTextFile(join(dir, RUN_FILES.metrics), json(metrics));
  await Deno.writeTextFile(join(dir, RUN_FILES.roc), json(roc));
  await Deno.writeTextFile(join(dir, RUN_FILES.predictions), json(predictions));
  await Deno.writeTextFile(
    join(dir, RUN_FILES.epochs),
    epochs.map((e) => JSON.stringify(e)).join("\n") + "\n",
  );
  if (run.saliency) {
    await Deno.mkdir(join(plots, "saliency"), { recursive: true });
    const image = new Float32Array(3 * 16 * 16).map((_, i) => Math.sin(i));
    const map = new Float32Array(16 * 16).map((_, i) => i % 16);
    const png = await saliencyPng(image, 3, map, 16, 16);
    await Deno.writeFile(join(plots, "saliency", "marked-0.png"), png);
  }
  return dir;
}
