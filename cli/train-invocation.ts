/**
 * How a train invocation becomes a configuration: the --test-no preset's flags are parsed by the
 * same schema as the user's, then merged under them (experiments/train-config.ts). Kept apart
 * from the commands so that tests can resolve every study command without running it.
 */

import {
  presetFor,
  type ResolvedTrainConfig,
  resolveTrainConfig,
  TrainOptionsError,
} from "../experiments/train-config.ts";
import { type TrainOptions, trainSchema } from "../experiments/train-options.ts";
import { type CommandSpec, parseCommandArgs, UsageError } from "./command-line.ts";

export const trainCommandName = "train";

const presetSpec: CommandSpec<typeof trainSchema> = {
  name: trainCommandName,
  description: "a preset's flags",
  schema: trainSchema,
  run: () => Promise.resolve(),
};

/** Parses train argv words (as the user typed them) and resolves them with the preset. */
export async function resolveTrainArgv(argv: string[]): Promise<ResolvedTrainConfig> {
  const { settings, given } = await parseCommandArgs(presetSpec, argv);
  return resolveTrainInvocation(settings, given);
}

/** Resolves the configuration of a train invocation (preset merged in, combinations checked). */
export async function resolveTrainInvocation(
  settings: TrainOptions,
  given: ReadonlySet<string>,
): Promise<ResolvedTrainConfig> {
  const preset = presetFor(settings);
  let fromPreset;
  if (preset) {
    const parsed = await parseCommandArgs(presetSpec, [
      "--test-no",
      preset.id,
      ...preset.args,
    ]);
    const presetGiven = new Set(parsed.given);
    presetGiven.delete("testNo");
    fromPreset = { preset, settings: parsed.settings, given: presetGiven };
  }
  try {
    return resolveTrainConfig(settings, given, fromPreset);
  } catch (err) {
    if (err instanceof TrainOptionsError) throw new UsageError(`cli.ts train: ${err.message}`);
    throw err;
  }
}
