/**
 * Strict state-dict loading with a report a person can act on: every missing key, every
 * unexpected key and every shape mismatch by name, and a hint when the file's keys only differ
 * by a prefix (`module.` from DataParallel, `model.` from a training wrapper). Nothing is written
 * unless everything fits, so a refused file leaves the model as it was.
 *
 * One leniency, PyTorch's own: a missing `<bn>.num_batches_tracked` is kept at the model's value
 * when the rest of that batch norm is in the file (old torchvision checkpoints, and files
 * converted from them, carry no counter; `BatchNorm._load_from_state_dict` fills it in too).
 */

import type { Module, StateSource } from "../module.ts";

/** What did not fit, key by key. */
export interface StateDictReport {
  /** In the model, not in the file. */
  missing: string[];
  /** In the file, not in the model. */
  unexpected: string[];
  /** In both with different shapes. */
  mismatched: { key: string; file: readonly number[]; model: readonly number[] }[];
  /** Batch-norm counters absent from the file, left at the model's value. */
  keptCounters: string[];
  /** Keys written (or that would be). */
  loaded: number;
}

const COUNTER = ".num_batches_tracked";

/** Compares `state` with the model's state dict without writing anything. */
export function compareStateDict(
  model: Module,
  state: ReadonlyMap<string, StateSource>,
): StateDictReport {
  const own = model.stateDict();
  const report: StateDictReport = {
    missing: [],
    unexpected: [],
    mismatched: [],
    keptCounters: [],
    loaded: 0,
  };
  for (const [key, t] of own) {
    const src = state.get(key);
    if (src) {
      if (src.shape.join() !== t.shape.join()) {
        report.mismatched.push({ key, file: src.shape, model: t.shape });
      } else report.loaded++;
    } else if (
      key.endsWith(COUNTER) && state.has(`${key.slice(0, -COUNTER.length)}.running_mean`)
    ) {
      report.keptCounters.push(key);
    } else report.missing.push(key);
  }
  for (const key of state.keys()) if (!own.has(key)) report.unexpected.push(key);
  return report;
}

/** Whether a strict load would refuse the report (a lenient one refuses shape mismatches only). */
export function reportFails(r: StateDictReport, strict = true): boolean {
  return r.mismatched.length > 0 || (strict && (r.missing.length + r.unexpected.length) > 0);
}

/** A prefix that, stripped from the file's keys, would turn most misses into hits. */
function prefixHint(r: StateDictReport): string | undefined {
  if (!r.missing.length || !r.unexpected.length) return undefined;
  const missing = new Set(r.missing);
  const first = r.unexpected[0];
  for (let dot = first.indexOf("."); dot > 0; dot = first.indexOf(".", dot + 1)) {
    const prefix = first.slice(0, dot + 1);
    const stripped = r.unexpected.filter((k) =>
      k.startsWith(prefix) && missing.has(k.slice(dot + 1))
    );
    if (stripped.length * 2 >= r.unexpected.length) {
      return `the file's keys start with "${prefix}" where the model's do not: ` +
        `save the inner module's state dict, or convert with tools/pth-to-safetensors.py ` +
        `--strip-prefix ${prefix}`;
    }
  }
  return undefined;
}

/**
 * The report on one line (the CLI prints one line per error): the counts, then every missing,
 * unexpected and mis-shaped key, then a hint when a prefix explains the difference.
 */
export function formatReport(r: StateDictReport, modelName: string): string {
  const parts = [
    `${r.missing.length} missing, ${r.unexpected.length} unexpected, ` +
    `${r.mismatched.length} mis-shaped key(s), ${r.loaded} fit`,
  ];
  if (r.missing.length) {
    parts.push(`missing (in ${modelName}, not in the file): ${r.missing.join(", ")}`);
  }
  if (r.unexpected.length) {
    parts.push(`unexpected (in the file, not in ${modelName}): ${r.unexpected.join(", ")}`);
  }
  for (const m of r.mismatched) {
    parts.push(`size mismatch for ${m.key}: file [${m.file}], ${modelName} [${m.model}]`);
  }
  const hint = prefixHint(r);
  if (hint) parts.push(`hint: ${hint}`);
  return parts.join("; ");
}

/** Thrown by {@link loadStateChecked}; carries the report for callers that want the keys. */
export class StateDictMismatchError extends Error {
  constructor(message: string, readonly report: StateDictReport) {
    super(message);
  }
}

export interface CheckedLoadOptions {
  /** Names the source in the error, e.g. "--weights /tmp/x.safetensors". */
  source: string;
  /** Names the model in the error, e.g. "resnet101". */
  modelName: string;
  /** Missing and unexpected keys are errors (default); shape mismatches always are. */
  strict?: boolean;
}

/**
 * Loads `state` into `model` in place when it fits (strictly by default) and returns the report;
 * otherwise throws {@link StateDictMismatchError} with every offending key, writing nothing.
 */
export function loadStateChecked(
  model: Module,
  state: ReadonlyMap<string, StateSource>,
  { source, modelName, strict = true }: CheckedLoadOptions,
): StateDictReport {
  const report = compareStateDict(model, state);
  if (reportFails(report, strict)) {
    throw new StateDictMismatchError(
      `${source}: not a ${modelName} state dict (${formatReport(report, modelName)})`,
      report,
    );
  }
  const own = model.stateDict();
  const known = new Map([...state].filter(([k]) => own.has(k)));
  model.loadStateDict(known, { strict: false });
  return report;
}
