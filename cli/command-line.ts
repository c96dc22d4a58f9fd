/**
 * The only module that knows which command-line library parses argv (npm commander, since JSR's
 * cliffy is not reachable here). A command is data: a zod object schema whose fields carry their
 * help and spelling (experiments/option-schema.ts), positional arguments, and a run function.
 * Option specs, defaults and choices are derived from the schema, so swapping the parser later
 * touches this file alone.
 */

import { Command, Option } from "commander";
import type { z } from "zod";
import {
  formatDefault,
  kebabFlag,
  type OptionSpec,
  optionSpecs,
} from "../experiments/option-schema.ts";

/** A positional argument, delivered to the schema under `key`. */
export interface ArgumentSpec {
  key: string;
  /** Shown in the usage line. */
  name: string;
  description: string;
  variadic?: boolean;
  required?: boolean;
}

/** What the run function learns besides the settings. */
export interface RunContext {
  /** Schema keys the user gave on the command line (not defaults). */
  given: ReadonlySet<string>;
}

export interface CommandSpec<S extends z.ZodObject> {
  name: string;
  description: string;
  schema: S;
  arguments?: ArgumentSpec[];
  run: (settings: z.infer<S>, context: RunContext) => Promise<void>;
}

/** A command whose settings type is erased, so commands of different schemas share one list. */
export interface AnyCommandSpec {
  name: string;
  description: string;
  schema: z.ZodObject;
  arguments?: ArgumentSpec[];
  run: (settings: never, context: RunContext) => Promise<void>;
}

/** Thrown for a usage error; the message is printed as it is, without a stack. */
export class UsageError extends Error {}

/** One line per offending option, naming the flag, the problem and the value given. */
export function describeIssues(
  error: z.ZodError,
  raw: Record<string, unknown>,
  flags: ReadonlyMap<string, string>,
): string {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const flag = flags.get(key) ?? (key ? kebabFlag(key) : "options");
    const got = raw[key] === undefined ? "" : ` (got ${JSON.stringify(raw[key])})`;
    return `  ${flag}: ${issue.message}${got}`;
  }).join("\n");
}

function addOption(command: Command, spec: OptionSpec, attributes: Map<string, string>): void {
  const defaultText = spec.defaultValue === undefined || spec.defaultValue === false
    ? ""
    : ` (default: ${formatDefault(spec.defaultValue)})`;
  const option = new Option(spec.flags, spec.description + (spec.boolean ? "" : defaultText));
  if (spec.choices) option.choices(spec.choices);
  if (spec.hidden) option.hideHelp();
  command.addOption(option);
  attributes.set(option.attributeName(), spec.key);
  for (const alias of spec.aliases) {
    const value = spec.flags.includes(" ") ? spec.flags.slice(spec.flags.indexOf(" ")) : "";
    const extra = new Option(alias + value, `same as ${spec.flags.split(" ")[0]}`).hideHelp();
    if (spec.choices) extra.choices(spec.choices);
    command.addOption(extra);
    attributes.set(extra.attributeName(), spec.key);
  }
}

/** Parses raw commander values and positionals with the schema; throws UsageError on failure. */
export function parseSettings<S extends z.ZodObject>(
  spec: { name: string; schema: S },
  raw: Record<string, unknown>,
  flags: ReadonlyMap<string, string>,
): z.infer<S> {
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(
      `cli.ts ${spec.name}: invalid options\n${describeIssues(parsed.error, raw, flags)}`,
    );
  }
  return parsed.data;
}

/** Builds the commander program for `specs`; `onRun` receives each parsed invocation. */
export function buildProgram(
  specs: readonly AnyCommandSpec[],
  onRun: (spec: AnyCommandSpec, settings: unknown, context: RunContext) => Promise<void>,
): Command {
  const program = new Command("cli.ts").description(
    "Skin Deep Unlearning toolkit: bias-unlearning melanoma classifiers on WebGPU",
  ).showHelpAfterError("(add --help for usage)").showSuggestionAfterError().exitOverride();
  program.option("--verbose", "print the stack trace of an error");
  for (const spec of specs) {
    const command = program.command(spec.name).description(spec.description)
      .showHelpAfterError(`(add --help for the options of ${spec.name})`)
      .showSuggestionAfterError().exitOverride();
    for (const a of spec.arguments ?? []) {
      const name = a.variadic ? `${a.name}...` : a.name;
      command.argument(a.required ? `<${name}>` : `[${name}]`, a.description);
    }
    const attributes = new Map<string, string>();
    const specsOf = optionSpecs(spec.schema);
    for (const o of specsOf) addOption(command, o, attributes);
    const flags = new Map(specsOf.map((o) => [o.key, o.flags.split(" ")[0]]));
    command.action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const opts = cmd.opts();
      const raw: Record<string, unknown> = {};
      const given = new Set<string>();
      for (const [attribute, value] of Object.entries(opts)) {
        const key = attributes.get(attribute) ?? attribute;
        const source = cmd.getOptionValueSource(attribute);
        if (source === "default" || value === undefined) continue;
        raw[key] = value;
        given.add(key);
      }
      (spec.arguments ?? []).forEach((a, i) => {
        if (args[i] !== undefined) {
          raw[a.key] = args[i];
          given.add(a.key);
        }
      });
      const settings = parseSettings(spec, raw, flags);
      await onRun(spec, settings, { given });
    });
  }
  return program;
}

/**
 * Runs argv against the commands. A usage or run error prints one line (`cli.ts <command>:
 * message`) and exits 2 (usage) or 1 (failure); `--verbose` adds the stack.
 */
export async function runCommandLine(
  specs: readonly AnyCommandSpec[],
  argv: string[],
): Promise<void> {
  const verbose = argv.includes("--verbose");
  const program = buildProgram(
    specs,
    (spec, settings, context) =>
      (spec.run as (s: unknown, c: RunContext) => Promise<void>)(settings, context).catch((err) => {
        throw Object.assign(err instanceof Error ? err : new Error(String(err)), {
          command: spec.name,
        });
      }),
  );
  try {
    await program.parseAsync(argv.filter((a) => a !== "--verbose"), { from: "user" });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("commander.")) {
      // commander already printed its message (with a suggestion for a misspelt option).
      if (code === "commander.helpDisplayed" || code === "commander.help") Deno.exit(0);
      if (code === "commander.version") Deno.exit(0);
      Deno.exit((err as { exitCode?: number }).exitCode === 0 ? 0 : 2);
    }
    const e = err as Error & { command?: string };
    const where = e.command ? `cli.ts ${e.command}` : "cli.ts";
    if (err instanceof UsageError) {
      console.error(e.message);
      if (verbose) console.error(e.stack);
      Deno.exit(2);
    }
    console.error(`${where}: ${e.message}`);
    if (verbose) console.error(e.stack);
    else console.error("(run again with --verbose for the stack trace)");
    Deno.exit(1);
  }
}

/**
 * Parses one command's options from argv words without running it (the study's preset flags go
 * through the same schema as the user's); throws on a usage error.
 */
export async function parseCommandArgs<S extends z.ZodObject>(
  spec: CommandSpec<S>,
  argv: string[],
): Promise<{ settings: z.infer<S>; given: ReadonlySet<string> }> {
  let result: { settings: z.infer<S>; given: ReadonlySet<string> } | undefined;
  const program = buildProgram([spec as unknown as AnyCommandSpec], (_spec, settings, context) => {
    result = { settings: settings as z.infer<S>, given: context.given };
    return Promise.resolve();
  });
  await program.parseAsync([spec.name, ...argv], { from: "user" });
  if (!result) throw new UsageError(`cli.ts ${spec.name}: nothing parsed from ${argv.join(" ")}`);
  return result;
}
