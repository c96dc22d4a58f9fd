/**
 * Command-line entry: `deno run -A cli.ts <command> [options]`. Each command is declared in
 * cli/ as data (a zod schema whose fields carry their help, and a run function);
 * cli/command-line.ts parses argv.
 */

import { type AnyCommandSpec, runCommandLine } from "./cli/command-line.ts";
import { downloadCommand, mnistCommand } from "./cli/commands-data.ts";
import { demoCommand } from "./cli/commands-demo.ts";
import { cmnistCommand, synthCommand, synthPretrainCommand } from "./cli/commands-experiments.ts";
import { reportCommand } from "./cli/commands-report.ts";
import { evaluateCommand, experimentsCommand, trainCommand } from "./cli/commands-train.ts";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly AnyCommandSpec[] = [
  demoCommand,
  downloadCommand,
  trainCommand,
  evaluateCommand,
  experimentsCommand,
  reportCommand,
  cmnistCommand,
  synthCommand,
  synthPretrainCommand,
  mnistCommand,
];

if (import.meta.main) {
  await runCommandLine(COMMANDS, Deno.args);
}
