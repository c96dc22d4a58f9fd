/**
 * The command line of the benchmark scripts that run experiments (bench/unlearning.ts,
 * bench/precision.ts): valued `--name value` options and bare switches, an unknown option named.
 */

export interface ScriptArgs {
  /** The value after `name`, or `fallback` when it is absent. */
  value(name: string, fallback: string): string;
  /** Whether the switch `name` was given. */
  has(name: string): boolean;
}

/** Checks `args` against the `known` options and reads them. */
export function scriptArgs(args: readonly string[], known: readonly string[]): ScriptArgs {
  const names = new Set(known);
  for (const a of args) {
    if (a.startsWith("--") && !names.has(a)) throw new Error(`unknown option ${a}`);
  }
  return {
    value(name, fallback) {
      const i = args.indexOf(name);
      if (i < 0) return fallback;
      const v = args[i + 1];
      if (v === undefined || v.startsWith("--")) throw new Error(`${name} needs a value`);
      return v;
    },
    has: (name) => args.includes(name),
  };
}
