/**
 * `train`, `evaluate` and `experiments`: the study's main job. The user's flags go over the
 * --test-no preset's (parsed by the same schema) over the schema's defaults; the merged
 * configuration runs in experiments/train-run.ts.
 */

import { z } from "zod";
import { option } from "../experiments/option-schema.ts";
import { findPreset, PRESETS, studyCommand } from "../experiments/presets.ts";
import { type TrainOptions, trainSchema } from "../experiments/train-options.ts";
import { runTrain } from "../experiments/train-run.ts";
import { type CommandSpec, type RunContext, UsageError } from "./command-line.ts";
import { resolveTrainInvocation, trainCommandName } from "./train-invocation.ts";

async function train(settings: TrainOptions, context: RunContext): Promise<void> {
  await runTrain(await resolveTrainInvocation(settings, context.given));
}

export const trainCommand: CommandSpec<typeof trainSchema> = {
  name: trainCommandName,
  description: "train (and test) one configuration of the study; --test-no picks its preset",
  schema: trainSchema,
  run: train,
};

export const evaluateCommand: CommandSpec<typeof trainSchema> = {
  name: "evaluate",
  description: "load the weights of --test-no and write its metrics again (train --test-only)",
  schema: trainSchema,
  run: (settings, context) => {
    const given = new Set(context.given).add("testOnly");
    return train({ ...settings, testOnly: true }, { given });
  },
};

const experimentsSchema = trainSchema.extend({
  action: option(z.enum(["list", "run"]).default("list"), {
    help: "list the presets, or run one",
    hidden: true,
  }),
  testNo: trainSchema.shape.testNo.optional(),
});

export const experimentsCommand: CommandSpec<typeof experimentsSchema> = {
  name: "experiments",
  description:
    "list the study's presets (test-no 1-12, 21-27 and 21-rulers..27-rulers), or run one",
  schema: experimentsSchema,
  arguments: [
    { key: "action", name: "action", description: "list (default) or run" },
    { key: "testNo", name: "test-no", description: "the preset to run" },
  ],
  run: async (settings, context) => {
    if (settings.action === "list") {
      printPresets();
      return;
    }
    if (!settings.testNo) {
      throw new UsageError("cli.ts experiments run: name the preset, e.g. `experiments run 12`");
    }
    if (!findPreset(settings.testNo)) {
      throw new UsageError(
        `cli.ts experiments run: no preset "${settings.testNo}"; ` +
          `presets: ${PRESETS.map((p) => p.id).join(", ")}`,
      );
    }
    const { action: _action, ...rest } = settings;
    const given = new Set(context.given);
    given.delete("action");
    await train({ ...rest, testNo: settings.testNo }, { given });
  },
};

function printPresets(): void {
  let group = "";
  for (const p of PRESETS) {
    if (p.group !== group) {
      group = p.group;
      console.log(`\n${group}:`);
    }
    console.log(`  ${p.id.padEnd(10)} ${p.title}`);
    console.log(`  ${"".padEnd(10)} study: ${studyCommand(p)}`);
    console.log(`  ${"".padEnd(10)} here:  deno run -A cli.ts experiments run ${p.id}`);
  }
  console.log(
    "\nAny train option overrides the preset's, e.g. `experiments run 12 --dataset synth --DEBUG`.",
  );
}
