/**
 * The only module that knows which command-line library parses argv (npm commander, since JSR's
 * cliffy is not reachable here). Commands are declared as data and validated with zod, so
 * swapping the parser later touches this file alone.
 */

import { Command, Option } from "commander";
import type { z } from "zod";
import type { OptionSpec } from "../experiments/option-spec.ts";

export type { OptionSpec };

export interface CommandSpec<S extends z.ZodType> {
  name: string;
  description: string;
  options: OptionSpec[];
  /** Validates and converts the raw options (strings) into typed settings. */
  schema: S;
  run: (settings: z.infer<S>) => Promise<void>;
}

/** A zod error as one line per offending option, naming the flag and the value. */
function describeIssues(error: z.ZodError, raw: Record<string, unknown>): string {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const flag = "--" + key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
    return `  ${flag}: ${issue.message} (got ${JSON.stringify(raw[key])})`;
  }).join("\n");
}

// deno-lint-ignore no-explicit-any
export async function runCommandLine(specs: CommandSpec<any>[], argv: string[]): Promise<void> {
  const program = new Command("cli.ts").description(
    "Skin Deep Unlearning toolkit: bias-unlearning melanoma classifiers on WebGPU",
  ).showHelpAfterError();
  for (const spec of specs) {
    const command = program.command(spec.name).description(spec.description);
    for (const o of spec.options) {
      const option = new Option(o.flags, o.description);
      if (o.default !== undefined) option.default(o.default);
      if (o.choices) option.choices(o.choices);
      if (o.hidden) option.hideHelp();
      command.addOption(option);
    }
    command.action(async (raw: Record<string, unknown>) => {
      const parsed = spec.schema.safeParse(raw);
      if (!parsed.success) {
        console.error(`cli.ts ${spec.name}: invalid options\n${describeIssues(parsed.error, raw)}`);
        Deno.exit(2);
      }
      await spec.run(parsed.data);
    });
  }
  await program.parseAsync(argv, { from: "user" });
}
