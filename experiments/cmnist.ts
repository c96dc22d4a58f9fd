/**
 * `cli.ts cmnist`: LNTL's Colored MNIST benchmark for our LNTL / TABE / CLGR implementations.
 * For each sigma^2, method and seed it trains LNTL's network (experiments/cmnist-model.ts) with
 * three spatial colour heads (R, G, B bins), then reports
 *  - accuracy on the colour-randomised test digits, next to the paper's table, and
 *  - a colour probe: a linear classifier on the frozen feature map f, global-average-pooled to 32
 *    values per image, fitted on half of the colour-randomised test images and scored on the
 *    other half. Its labels are the ten mean colours (chance 0.1; independent of the digit) and,
 *    separately, the 8 bins of each channel. Unlearning should lower it before it lifts accuracy.
 * Everything is trained from scratch with one lr (the official code fine-tuned its unlearning
 * runs from a trained baseline at lr 0.001); the defaults are the paper's 100-epoch schedule.
 */

import { prepareHalfPrecision } from "../gpu/mixed-precision.ts";
import { DataLoader } from "../data/loader.ts";
import {
  coloredMnistDataset,
  type ColoredMnistSet,
  makeColoredMnist,
} from "../data/synthetic/colored-mnist.ts";
import type { Backend } from "../gpu/backend.ts";
import { globalAvgPool2d } from "../nn/ops/pool.ts";
import { manualSeed } from "../nn/random.ts";
import { resolveDebias } from "../debias/config.ts";
import { buildBiasHeads, disposeBiasHeads } from "../debias/heads.ts";
import { allOptimisers, makeDebiasStep } from "../debias/train-step.ts";
import {
  applyStepSchedule,
  mapBatches,
  networkTensors,
  runDebiasEpochs,
} from "../debias/run-epoch.ts";
import { selectBackend } from "../gpu/select.ts";
import { CMNIST_FEATURE_CHANNELS, cmnistNetwork } from "./cmnist-model.ts";
import type { CmnistMethod, CmnistOptions } from "./cmnist-options.ts";
import { cmnistMarkdown } from "./cmnist-report.ts";
import type { CmnistRun } from "./cmnist-run.ts";
import { linearProbe } from "./linear-probe.ts";
import { writeReport } from "./results-files.ts";
import { mcnemarTest } from "./statistics.ts";
import { assertLossBounded, assertScoresVary, failedMarkdown } from "./run-health.ts";

export type { CmnistRun } from "./cmnist-run.ts";

export interface CmnistReport {
  options: CmnistOptions;
  backend: string;
  runs: CmnistRun[];
  files: string[];
}

const COLUMNS = ["colourR", "colourG", "colourB"];

/** The debias configuration of a method name. */
export function methodSettings(method: CmnistMethod, o: CmnistOptions) {
  const base = method === "baseline" || method === "grey";
  const config = base ? "baseline" : method.startsWith("LNTL") ? "LNTL" : "TABE";
  const grl = !base && (o.GRL || method.endsWith("+GRL") || method === "CLGR");
  return resolveDebias({
    debiasConfig: config,
    GRL: grl,
    // LNTL's code averages its three colour heads' phase-1 terms; done the same for TABE.
    customHeads: COLUMNS.map((column) => ({ column, classes: 8, termWeight: 1 / 3 })),
    lambdaa: o.lambdaa,
    alpha: o.alpha,
    lrBase: o.lr,
    lrClass: o.lrClass ?? o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    grlScale: o.grlScale,
    confusionTarget: o.confusionTarget,
  });
}

interface Sets {
  train: ColoredMnistSet;
  test: ColoredMnistSet;
}

async function trainOne(
  method: CmnistMethod,
  sigma2: number,
  seed: number,
  sets: Sets,
  o: CmnistOptions,
  backend: Backend,
  log: (line: string) => void,
  correctness: Map<string, Uint8Array>,
): Promise<CmnistRun> {
  const start = performance.now();
  manualSeed(seed);
  const settings = methodSettings(method, o);
  const { encoder, main } = cmnistNetwork(backend);
  const heads = buildBiasHeads(settings.heads, {
    kind: "spatial",
    inFeatures: CMNIST_FEATURE_CHANNELS,
    trainBias: sets.train.bias,
    classWeights: o.auxWeights,
    labelAware: o.labelAwareAux ? 10 : 0,
    backend,
  });
  const { step, optimisers, scaler } = makeDebiasStep(
    { encoder, main, heads },
    settings,
    undefined,
    o.precision,
  );
  const baseLrs = allOptimisers(optimisers).map((opt) => opt.lr);
  const loader = new DataLoader(coloredMnistDataset(sets.train), {
    batchSize: o.batchSize,
    seed,
    dropLast: true,
  });
  const tag = `${method} sigma2=${sigma2} seed=${seed}`;
  const dim = CMNIST_FEATURE_CHANNELS;
  const { test } = sets;
  const pooledFeatures = async () => {
    encoder.eval();
    const [pooled] = await mapBatches(test.images, test.shape, backend, 500, (x) => [
      globalAvgPool2d(encoder.forward(x)),
    ]);
    return pooled;
  };
  try {
    const initialColourProbe = linearProbe(await pooledFeatures(), dim, test.meanIndex, 10, {
      seed,
    });
    const epochs = await runDebiasEpochs({
      step,
      scaler,
      heads,
      backend,
      loader,
      epochs: o.epochs,
      readEvery: o.readEvery,
      tag,
      quiet: o.quiet,
      log,
      beforeEpoch: (e) => applyStepSchedule(optimisers, baseLrs, e, o.lrStep),
      parameters: networkTensors({ encoder, main, heads }),
    });
    assertLossBounded(epochs, Math.log(10), tag);
    encoder.eval();
    main.eval();
    const [logits, pooled] = await mapBatches(test.images, test.shape, backend, 500, (x) => {
      const f = encoder.forward(x);
      return [main.forward(f), globalAvgPool2d(f)];
    });
    assertScoresVary(logits, 10, tag, "colour-randomised test set");
    const n = test.shape[0];
    let right = 0;
    const correct = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < 10; k++) if (logits[i * 10 + k] > logits[i * 10 + best]) best = k;
      if (best === test.labels[i]) right++;
      correct[i] = best === test.labels[i] ? 1 : 0;
    }
    const colourProbe = linearProbe(pooled, dim, test.meanIndex, 10, { seed });
    const binProbes = COLUMNS.map((c) =>
      linearProbe(pooled, dim, test.bias[c as keyof ColoredMnistSet["bias"]], 8, { seed })
    );
    correctness.set(`${method}/${sigma2}/${seed}`, correct);
    const run: CmnistRun = {
      method,
      sigma2,
      seed,
      testAccuracy: right / n,
      colourProbe,
      binProbes,
      initialColourProbe,
      epochs,
      trainSize: sets.train.shape[0],
      testSize: n,
      seconds: (performance.now() - start) / 1000,
    };
    log(
      `${tag}: test accuracy ${run.testAccuracy.toFixed(4)}, colour probe ` +
        `${colourProbe.accuracy.toFixed(3)} (untrained ${
          initialColourProbe.accuracy.toFixed(3)
        }; bins ${binProbes.map((p) => p.accuracy.toFixed(3)).join("/")}), ${
          run.seconds.toFixed(0)
        } s`,
    );
    return run;
  } finally {
    loader.close();
    encoder.dispose();
    main.dispose();
    disposeBiasHeads(heads);
    for (const opt of allOptimisers(optimisers)) opt.dispose();
    scaler?.dispose();
  }
}

/**
 * Gives each finished non-baseline run lacking one its McNemar test against the baseline of the
 * same sigma^2 and seed (both scored the same test digits), once that baseline has run.
 */
function attachMcNemar(runs: readonly CmnistRun[], correctness: Map<string, Uint8Array>): void {
  for (const run of runs) {
    if (run.method === "baseline" || run.vsBaseline) continue;
    const mine = correctness.get(`${run.method}/${run.sigma2}/${run.seed}`);
    const base = correctness.get(`baseline/${run.sigma2}/${run.seed}`);
    if (mine && base) run.vsBaseline = mcnemarTest(mine, base);
  }
}

/** Runs the benchmark and writes results/cmnist/cmnist.{json,md}. */
export async function runCmnist(
  o: CmnistOptions,
  log: (line: string) => void = console.log,
): Promise<CmnistReport> {
  const { backend, reason } = await selectBackend(o.backend);
  log(`cmnist: backend ${backend.name} (${reason})`);
  if (o.precision === "f16") log(`cmnist: ${await prepareHalfPrecision(backend)}`);
  const limit = (n: number | undefined) => (n ? n : undefined);
  const runs: CmnistRun[] = [];
  const write = () =>
    writeReport(
      o.outDir,
      "cmnist",
      { options: o, backend: backend.name, runs },
      cmnistMarkdown(o, runs),
    );
  let files: string[] = [];
  const correctness = new Map<string, Uint8Array>();
  try {
    for (const sigma2 of o.sigma2) {
      const cache = new Map<boolean, Sets>();
      for (const method of o.debiasConfig) {
        const grey = method === "grey";
        if (!cache.has(grey)) {
          const common = { sigma2, seed: 0, grey };
          cache.set(grey, {
            train: await makeColoredMnist({
              ...common,
              split: "train",
              limit: limit(o.trainSubset),
            }),
            test: await makeColoredMnist({ ...common, split: "test", limit: limit(o.testSubset) }),
          });
        }
        for (const seed of o.seeds) {
          runs.push(
            await trainOne(method, sigma2, seed, cache.get(grey)!, o, backend, log, correctness),
          );
          attachMcNemar(runs, correctness);
          files = write();
        }
      }
    }
  } catch (err) {
    // A failed run leaves a report that says so, never a normal-looking table (or a stale one).
    const e = err instanceof Error ? err : new Error(String(err));
    writeReport(
      o.outDir,
      "cmnist",
      { options: o, backend: backend.name, runs, failed: e.message },
      failedMarkdown("Colored MNIST", e, runs.length ? cmnistMarkdown(o, runs) : ""),
    );
    throw e;
  }
  log(cmnistMarkdown(o, runs));
  log(`cmnist: wrote ${files.join(", ")}`);
  return { options: o, backend: backend.name, runs, files };
}
