/**
 * Command-line entry: `deno run -A cli.ts <command> [options]`. Each command is declared in
 * cli/ as data (options, a zod schema, a run function); cli/command-line.ts parses argv.
 */

import { runCommandLine } from "./cli/command-line.ts";
import { demoCommand, downloadCommand } from "./cli/commands-data.ts";
import { cmnistCommand, synthCommand } from "./cli/commands-experiments.ts";

if (import.meta.main) {
  await runCommandLine([demoCommand, downloadCommand, cmnistCommand, synthCommand], Deno.args);
}
