/**
 * Command options declared once, in a zod object schema: each field's help text, spelling and
 * aliases ride on the field itself ({@link option}), its default is the field's zod `.default`,
 * its choices the enum's values. The command-line layer derives its option specs from the schema
 * ({@link optionSpecs}), so a default or help text cannot drift between two places.
 */

import type { z } from "zod";

/** What the command line needs to know about an option besides its type and default. */
export interface OptionMeta {
  /** Help text. */
  help: string;
  /** The flag when it is not the kebab-case of the key (the study's `--GRL`, `--heid-test_marked`). */
  flag?: string;
  /** Further long flags that mean the same (tidy spellings of the study's odd ones). */
  aliases?: string[];
  /** Value placeholder shown in help, e.g. "<n>" (default "<value>"); "[bool]" makes it optional. */
  value?: string;
  /** For booleans that default to true: the flag that turns them off, e.g. "--no-preset". */
  negate?: string;
  /** Accepted but left out of the help. */
  hidden?: boolean;
}

const metas = new WeakMap<z.ZodType, OptionMeta>();

/** Attaches command-line metadata to a schema field; returns the field unchanged. */
export function option<T extends z.ZodType>(schema: T, meta: OptionMeta): T {
  metas.set(schema, meta);
  return schema;
}

/** A command-line option derived from one schema field. */
export interface OptionSpec {
  /** The schema key the value belongs to. */
  key: string;
  /** commander-style flags, e.g. "--image-size <n>", "--GRL", "--pretrained [bool]". */
  flags: string;
  /** Alternative long flags (no value part), each meaning the same as `flags`. */
  aliases: string[];
  description: string;
  /** The zod default, for the help text only: the schema applies it. */
  defaultValue?: unknown;
  choices?: readonly string[];
  boolean: boolean;
  hidden: boolean;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  defaultValue?: unknown;
  entries?: Record<string, string | number>;
  options?: z.ZodType[];
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Peels defaults, optionals and pipes to the type the user's value is first parsed as. */
function core(s: z.ZodType): { type: string; def: Def; defaultValue?: unknown } {
  let defaultValue: unknown;
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const def = defOf(cur);
    if (def.type === "default" || def.type === "prefault") {
      if (defaultValue === undefined) defaultValue = def.defaultValue;
      cur = def.innerType!;
    } else if (def.type === "optional" || def.type === "nullable" || def.type === "readonly") {
      cur = def.innerType!;
    } else if (def.type === "pipe") {
      cur = def.in!;
    } else {
      return { type: def.type, def, defaultValue };
    }
  }
  throw new Error("option schema nests too deeply");
}

/** `lrBase` -> `--lr-base`. */
export function kebabFlag(key: string): string {
  return "--" + key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** Finds the metadata of a field, looking through the wrappers zod adds around it. */
function metaOf(s: z.ZodType): OptionMeta | undefined {
  let cur: z.ZodType | undefined = s;
  for (let i = 0; cur && i < 20; i++) {
    const m = metas.get(cur);
    if (m) return m;
    const def = defOf(cur);
    cur = def.innerType ?? def.in;
  }
  return undefined;
}

/** Every option of an object schema, in declaration order. Fields without metadata are skipped. */
export function optionSpecs(schema: z.ZodObject): OptionSpec[] {
  const specs: OptionSpec[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const meta = metaOf(field);
    if (!meta) continue;
    const { type, def, defaultValue } = core(field);
    const boolean = type === "boolean";
    const flag = meta.flag ?? kebabFlag(key);
    let flags = flag;
    if (boolean && meta.negate) flags = meta.negate;
    else if (!boolean || meta.value) flags = `${flag} ${meta.value ?? "<value>"}`;
    const choices = type === "enum" ? Object.values(def.entries ?? {}).map(String) : undefined;
    specs.push({
      key,
      flags,
      aliases: meta.aliases ?? [],
      description: meta.help,
      defaultValue,
      choices,
      boolean,
      hidden: meta.hidden ?? false,
    });
  }
  return specs;
}

/** A default as the user would type it: lists comma-separated. */
export function formatDefault(value: unknown): string {
  if (Array.isArray(value)) return value.join(",");
  return String(value);
}

/** The flag of a schema key as the user types it (for messages that name the option). */
export function flagOf(schema: z.ZodObject, key: string): string {
  const field = (schema.shape as Record<string, z.ZodType>)[key];
  return (field && metaOf(field)?.flag) ?? kebabFlag(key);
}
