/**
 * The unlearning presets are what the README's five-seed table reports: each parses as `cli.ts
 * synth` flags, unlearns the artefact whose drop it measures, and has its committed table under
 * bench/results/ made by exactly its own command.
 */

import assert from "node:assert/strict";
import { parseCommandArgs } from "../cli/command-line.ts";
import { synthCommand } from "../cli/commands-experiments.ts";
import { UNLEARNING_PRESETS } from "../experiments/unlearning-presets.ts";

Deno.test("unlearning presets: valid synth flags, the right bias label, a committed table of their own command", async () => {
  const names = new Set<string>();
  for (const preset of UNLEARNING_PRESETS) {
    assert.ok(!names.has(preset.name), `${preset.name}: one preset per name`);
    names.add(preset.name);
    const argv = [...preset.args, "--seeds", "0,1,2,3,4"];
    const { settings } = await parseCommandArgs(synthCommand, argv);
    assert.ok(settings.debiasConfig.includes("baseline"), `${preset.name}: a baseline to compare`);
    assert.ok(argv.includes(`--${preset.shifted}`), `${preset.name}: unlearns ${preset.shifted}`);
    const table = Deno.readTextFileSync(
      new URL(`../bench/results/unlearning-${preset.name}.md`, import.meta.url),
    );
    const command = `deno run -A cli.ts synth ${argv.join(" ")}`;
    assert.ok(table.includes(command), `${preset.name}: the committed table ran "${command}"`);
  }
});
