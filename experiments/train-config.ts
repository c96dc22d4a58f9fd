/**
 * The resolved configuration of a train run: the user's options over the --test-no preset's
 * over the schema's defaults, with the source of each value recorded, and the combination
 * checks applied to the result.
 */

import { type DebiasSettings, resolveDebias } from "../debias/config.ts";
import { debiasStrengths } from "./debias-options.ts";
import { findPreset, type Preset } from "./presets.ts";
import { trainOptionProblems, type TrainOptions } from "./train-options.ts";

export type OptionSource = "default" | "preset" | "command line" | "synth default";

/**
 * With --dataset synth the study's ImageNet-sized trunks and 256 px images would make an offline
 * run take hours on a CPU: unless the user names them, the compact trunk at the renderer's native
 * 64 px stands in.
 */
const SYNTH_DEFAULTS = { arch: "synth-cnn", imageSize: 64 } as const;

export interface ResolvedTrainConfig {
  options: TrainOptions;
  sources: Record<string, OptionSource>;
  preset?: Preset;
}

/** Thrown when the merged options contradict each other; each line names options and a fix. */
export class TrainOptionsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid combination of options:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
}

/**
 * Merges `user` (parsed from the command line, `userGiven` its explicit keys) over `preset`
 * (parsed from the preset's flags, `presetGiven` its explicit keys).
 */
export function resolveTrainConfig(
  user: TrainOptions,
  userGiven: ReadonlySet<string>,
  preset?: { preset: Preset; settings: TrainOptions; given: ReadonlySet<string> },
): ResolvedTrainConfig {
  const options = { ...user } as Record<string, unknown>;
  const sources: Record<string, OptionSource> = {};
  for (const key of Object.keys(user)) {
    if (userGiven.has(key)) sources[key] = "command line";
    else if (preset?.given.has(key)) {
      options[key] = (preset.settings as Record<string, unknown>)[key];
      sources[key] = "preset";
    } else sources[key] = "default";
  }
  if (options.dataset === "synth") {
    for (const [key, value] of Object.entries(SYNTH_DEFAULTS)) {
      if (sources[key] === "command line") continue;
      options[key] = value;
      sources[key] = "synth default";
    }
  }
  const merged = options as TrainOptions;
  const problems = trainOptionProblems(merged);
  if (problems.length) throw new TrainOptionsError(problems);
  return { options: merged, sources, preset: preset?.preset };
}

/** The preset --test-no names when presets are on. */
export function presetFor(o: Pick<TrainOptions, "testNo" | "preset">): Preset | undefined {
  return o.preset ? findPreset(o.testNo) : undefined;
}

/** The configuration as printed at the start: one line per option, the non-defaults marked. */
export function describeConfig(c: ResolvedTrainConfig): string {
  const lines = Object.entries(c.options).map(([k, v]) => {
    const source = c.sources[k];
    const mark = source === "default" ? "" : `  [${source}]`;
    return `  ${k}: ${JSON.stringify(v)}${mark}`;
  });
  const head = c.preset
    ? `preset ${c.preset.id}: ${c.preset.title} (${c.preset.args.join(" ")})`
    : "no preset";
  return [head, ...lines].join("\n");
}

/**
 * The debiasing heads and strengths of a train configuration, as the study's train.py built
 * them (CLGR is TABE with gradient reversal).
 */
export function debiasSettingsOf(o: TrainOptions): DebiasSettings {
  const config = o.debiasConfig;
  const clgr = config === "CLGR";
  return resolveDebias({
    debiasConfig: config === "CLGR" ? "TABE" : config,
    GRL: o.GRL || clgr,
    switchHeads: o.switchHeads,
    marked: o.marked,
    rulers: o.rulers,
    instrument: o.instrument,
    numAux: o.numAux,
    numAux2: o.numAux2,
    ...debiasStrengths(o),
  });
}
