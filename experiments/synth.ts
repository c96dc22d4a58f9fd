/**
 * `cli.ts synth`: the study's unlearning experiments on the synthetic skin artefacts. Training
 * lesions carry the chosen artefact(s) correlated with malignancy (`--correlation`, default 0.9);
 * each method trains the compact trunk (experiments/synth-model.ts) with the study's heads and
 * two-phase step, then is scored by ROC AUC on the Heidelberg-style test sets: the SAME lesions
 * plain, with a marking, with a ruler, and under shifted instruments. An artefact the model
 * relies on shows as AUC lost between the plain set and that artefact's set.
 */

import { prepareHalfPrecision } from "../gpu/mixed-precision.ts";
import { groupBalancedWeights } from "../data/group-balance.ts";
import { DataLoader } from "../data/loader.ts";
import {
  makeSkinTestSets,
  makeSkinTrainSet,
  skinDataset,
  type SkinSet,
} from "../data/synthetic/skin-artefacts.ts";
import type { Backend } from "../gpu/backend.ts";
import { manualSeed } from "../nn/random.ts";
import { type DebiasConfigName, type DebiasSettings, resolveDebias } from "../debias/config.ts";
import { buildBiasHeads, disposeBiasHeads, MainHead } from "../debias/heads.ts";
import { type EpochLosses, mapBatches } from "../debias/run-epoch.ts";
import { debiasStrengths } from "./debias-options.ts";
import { selectBackend } from "../gpu/select.ts";
import { type PairedShift, pairedShift, rocAuc } from "./metrics.ts";
import { formatMeanSd, markdownTable, writeReport } from "./results-files.ts";
import { assertLossBounded, assertScoresVary, failedMarkdown } from "./run-health.ts";
import type { SynthMethod, SynthOptions } from "./synth-options.ts";
import { synthTrunk } from "./synth-model.ts";
import { type SynthStart, synthStart } from "./synth-start.ts";
import { attachDelong, synthComparisonMarkdown } from "./synth-comparisons.ts";
import type { DelongComparison } from "./statistics.ts";
import { runUnlearningStage, type UnlearningSchedule } from "./unlearning-schedule.ts";

export const SYNTH_TEST_SETS = ["plain", "marked", "rulers", "instrument"] as const;
export type SynthTestSet = (typeof SYNTH_TEST_SETS)[number];
/** The test sets that show the plain set's lesions with something changed. */
export const SHIFTED_TEST_SETS = ["marked", "rulers", "instrument"] as const;
export type ShiftedTestSet = (typeof SHIFTED_TEST_SETS)[number];

export interface SynthRun {
  method: SynthMethod;
  seed: number;
  heads: { column: string; classes: number; method: string }[];
  auc: Record<SynthTestSet, number>;
  /** Per-lesion logit change against the plain set. */
  shift: Record<ShiftedTestSet, PairedShift>;
  epochs: EpochLosses[];
  seconds: number;
  /** DeLong's test against the same seed's baseline per test set (not on the baseline). */
  vsBaseline?: Record<SynthTestSet, DelongComparison>;
}

export interface SynthReport {
  options: SynthOptions;
  backend: string;
  runs: SynthRun[];
  files: string[];
}

/** The debias settings of a method name (`TABE+GRL`, `CLGR`, `both`, ...). */
export function synthSettings(method: SynthMethod, o: SynthOptions): DebiasSettings {
  const grl = method === "CLGR" || method.endsWith("+GRL");
  const config = (method === "CLGR" ? "TABE" : method.replace("+GRL", "")) as DebiasConfigName;
  const marked = o.marked || (!o.rulers && !o.instrument);
  return resolveDebias({
    debiasConfig: config,
    GRL: grl,
    switchHeads: o.switchHeads,
    marked,
    rulers: o.rulers,
    instrument: o.instrument,
    numAux: o.instrument && !o.switchHeads ? 8 : 2,
    numAux2: o.instrument && o.switchHeads ? 8 : 2,
    ...debiasStrengths(o),
  });
}

interface Sets {
  train: SkinSet;
  tests: Record<SynthTestSet, SkinSet>;
  /** --balance-groups: the training lesions' draw weights, shared by every method of a seed. */
  sampleWeights?: Float64Array;
}

/**
 * The training set with the chosen artefacts correlated, the others at --other-correlation, its
 * draw weights under --balance-groups, and the test sets.
 */
export function synthSets(o: SynthOptions, seed: number): Sets {
  const pick = (on: boolean) => (on ? o.correlation : o.otherCorrelation);
  const marked = o.marked || (!o.rulers && !o.instrument);
  const correlation = {
    marked: pick(marked),
    scale: pick(o.rulers),
    instrument: pick(o.instrument),
  };
  const common = { seed, size: o.imageSize };
  const train = makeSkinTrainSet({ ...common, n: o.trainSize, correlation });
  return {
    train,
    sampleWeights: o.balanceGroups ? balancedWeights(train, o) : undefined,
    tests: makeSkinTestSets({
      ...common,
      n: o.testSize,
      instrumentShift: o.instrumentShift,
      trainInstrumentCorrelation: correlation.instrument,
    }),
  };
}

async function trainOne(
  method: SynthMethod,
  seed: number,
  sets: Sets,
  initial: SynthStart,
  scores: Map<string, Record<SynthTestSet, Float32Array>>,
  o: SynthOptions,
  backend: Backend,
  log: (line: string) => void,
): Promise<SynthRun> {
  const start = performance.now();
  manualSeed(seed);
  const settings = synthSettings(method, o);
  const { encoder, features } = synthTrunk(o.width, backend);
  const main = new MainHead(features, 1, { backend });
  encoder.loadStateDict(initial.encoder);
  main.loadStateDict(initial.main);
  const heads = buildBiasHeads(settings.heads, {
    kind: o.deepAux ? "deep" : "linear",
    inFeatures: features,
    trainBias: sets.train.bias,
    labelAware: o.labelAwareAux ? 2 : 0,
    backend,
  });
  const loader = new DataLoader(skinDataset(sets.train), {
    batchSize: o.batchSize,
    seed,
    dropLast: true,
    sampleWeights: sets.sampleWeights,
  });
  const tag = `${method} seed=${seed}`;
  try {
    const epochs = [
      ...initial.epochs,
      ...await runUnlearningStage({
        encoder,
        main,
        heads,
        settings,
        schedule: synthSchedule(o),
        backend,
        loader,
        epochs: o.epochs,
        readEvery: o.readEvery,
        tag,
        quiet: o.quiet,
        precision: o.precision,
        log,
      }),
    ];
    assertLossBounded(epochs, Math.LN2, tag);
    encoder.eval();
    main.eval();
    const auc = {} as Record<SynthTestSet, number>;
    const logits = {} as Record<SynthTestSet, Float32Array>;
    for (const name of SYNTH_TEST_SETS) {
      const set = sets.tests[name];
      [logits[name]] = await mapBatches(set.images, set.shape, backend, 250, (x) => [
        main.forward(encoder.forward(x)),
      ]);
      assertScoresVary(logits[name], 1, tag, `${name} test set`);
      auc[name] = rocAuc(logits[name], set.target);
    }
    const shift = {} as Record<ShiftedTestSet, PairedShift>;
    for (const name of SHIFTED_TEST_SETS) shift[name] = pairedShift(logits.plain, logits[name]);
    const run: SynthRun = {
      method,
      seed,
      heads: settings.heads.map(({ column, classes, method }) => ({ column, classes, method })),
      auc,
      shift,
      epochs,
      seconds: (performance.now() - start) / 1000,
    };
    log(
      `${tag}: AUC ${SYNTH_TEST_SETS.map((s) => `${s} ${auc[s].toFixed(3)}`).join(", ")}; ` +
        `logit shift ${SHIFTED_TEST_SETS.map((s) => `${s} ${formatShift(shift[s])}`).join(", ")} ` +
        `(${run.seconds.toFixed(0)} s)`,
    );
    scores.set(method, logits);
    return run;
  } finally {
    loader.close();
    encoder.dispose();
    main.dispose();
    disposeBiasHeads(heads);
  }
}

/** The unlearning schedule of the options (experiments/unlearning-schedule.ts). */
export function synthSchedule(o: SynthOptions): UnlearningSchedule {
  return {
    baselineEpochs: o.baselineEpochs,
    warmupEpochs: o.warmupEpochs,
    debiasLrFactor: o.debiasLrFactor,
    lrDecay: o.lrDecay,
  };
}

/** --balance-groups: equal draws of each (malignancy, chosen artefact columns) group. */
function balancedWeights(train: SkinSet, o: SynthOptions): Float64Array {
  const columns = chosenArtefacts(o).map((a) => (a === "rulers" ? "scale" : a));
  const biases = Object.fromEntries(
    columns.map((c) => [c, train.bias[c as keyof SkinSet["bias"]]]),
  );
  const { weights, groups } = groupBalancedWeights(train.target, biases);
  const empty = 2 ** (columns.length + 1) - groups.size;
  if (empty > 0 && columns.every((c) => c !== "instrument")) {
    throw new Error(
      `--balance-groups: ${empty} (malignancy, ${columns.join(", ")}) group(s) have no training ` +
        `lesion at --correlation ${o.correlation}; nothing can stand in for them`,
    );
  }
  return weights;
}

/** The artefacts a run correlates with malignancy (markings when none is chosen). */
function chosenArtefacts(o: SynthOptions): string[] {
  const marked = o.marked || (!o.rulers && !o.instrument);
  return [marked && "marked", o.rulers && "rulers", o.instrument && "instrument"]
    .filter((s): s is string => Boolean(s));
}

/** What the training correlations were, in words. */
function describe(o: SynthOptions): string {
  const chosen = chosenArtefacts(o).join(" + ");
  return `${chosen} correlated ${o.correlation} with malignancy (others ${o.otherCorrelation}); ` +
    `${o.trainSize} training lesions, ${o.testSize} per test set, ${o.imageSize} px, ` +
    `${o.epochs} epoch(s), seeds ${o.seeds.join(",")}` +
    (o.labelAwareAux ? "; bias heads told the label (--label-aware-aux)" : "") +
    (o.balanceGroups ? "; group-balanced sampling (--balance-groups)" : "") +
    (o.initWeights ? `; trunk from ${o.initWeights}` : "; trunk from random weights") +
    (o.baselineEpochs ? `; ${o.baselineEpochs} baseline epoch(s) before unlearning` : "") +
    (o.warmupEpochs ? `; strengths warmed up over ${o.warmupEpochs} epoch(s)` : "") +
    (o.debiasLrFactor !== 1 ? `; unlearning lr x${o.debiasLrFactor}` : "") +
    (o.lrDecay === "cosine" ? "; lr annealed to 0 (cosine)" : "");
}

/** "+1.20 ± 0.45 (0.31)": mean ± sd of the per-lesion shift, (sd / the plain scores' sd). */
function formatShift(s: PairedShift): string {
  const sign = s.mean >= 0 ? "+" : "";
  return `${sign}${s.mean.toFixed(2)} ± ${s.sd.toFixed(2)} (${s.relativeSd.toFixed(2)})`;
}

/** The Markdown tables: AUC per method and test set, then the artefacts' logit shifts. */
export function synthMarkdown(o: SynthOptions, runs: readonly SynthRun[]): string {
  const of = (method: string) => runs.filter((r) => r.method === method);
  const header = ["method", ...SYNTH_TEST_SETS.map((s) => `${s} AUC`)];
  const rows = o.debiasConfig.map((method) => [
    method,
    ...SYNTH_TEST_SETS.map((s) => formatMeanSd(of(method).map((r) => r.auc[s]))),
  ]);
  const shiftHeader = ["method", ...SHIFTED_TEST_SETS.map((s) => `${s}: shift sd / plain sd`)];
  const shiftRows = o.debiasConfig.map((method) => [
    method,
    ...SHIFTED_TEST_SETS.map((s) => formatMeanSd(of(method).map((r) => r.shift[s].relativeSd))),
  ]);
  return [
    `# Synthetic skin artefacts`,
    "",
    describe(o),
    "",
    markdownTable(header, rows),
    "",
    synthComparisonMarkdown(
      runs,
      o.debiasConfig,
      SYNTH_TEST_SETS,
      chosenArtefacts(o),
    ),
    "Per-lesion logit change against the plain set: its spread over the lesions, relative to the " +
    "plain scores' spread (0 = the artefact moves every lesion alike, so the ranking holds).",
    "",
    markdownTable(shiftHeader, shiftRows),
    "",
  ].join("\n");
}

/** Runs every method and seed; writes results/synth/synth-<artefacts>.{json,md}. */
export async function runSynth(
  o: SynthOptions,
  log: (line: string) => void = console.log,
): Promise<SynthReport> {
  const { backend, reason } = await selectBackend(o.backend);
  log(`synth: backend ${backend.name} (${reason}); ${describe(o)}`);
  if (o.precision === "f16") log(`synth: ${await prepareHalfPrecision(backend)}`);
  const runs: SynthRun[] = [];
  let files: string[] = [];
  const base = `synth-${chosenArtefacts(o).join("-")}`;
  try {
    for (const seed of o.seeds) {
      const sets = synthSets(o, seed);
      const start = await synthStart(
        o,
        synthSchedule(o),
        sets.train,
        seed,
        backend,
        log,
        sets.sampleWeights,
      );
      const scores = new Map<string, Record<SynthTestSet, Float32Array>>();
      for (const method of o.debiasConfig) {
        runs.push(await trainOne(method, seed, sets, start, scores, o, backend, log));
        attachDelong(runs.filter((r) => r.seed === seed), scores, sets.tests);
        files = writeReport(
          o.outDir,
          base,
          { options: o, backend: backend.name, runs },
          synthMarkdown(o, runs),
        );
      }
    }
  } catch (err) {
    // A failed run leaves a report that says so, never a normal-looking table (or a stale one).
    const e = err instanceof Error ? err : new Error(String(err));
    writeReport(
      o.outDir,
      base,
      { options: o, backend: backend.name, runs, failed: e.message },
      failedMarkdown("Synthetic skin artefacts", e, runs.length ? synthMarkdown(o, runs) : ""),
    );
    throw e;
  }
  log(synthMarkdown(o, runs));
  log(`synth: wrote ${files.join(", ")}`);
  return { options: o, backend: backend.name, runs, files };
}
