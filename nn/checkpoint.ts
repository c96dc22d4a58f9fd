/**
 * Checkpoints as safetensors, written atomically. A checkpoint holds the model's state dict
 * under `model.<key>`, each optimiser buffer under `optimizer.<param index>.<buffer>`, and in the
 * string metadata the format tag, the optimiser's kind / lr / step counts and the caller's own
 * entries. `saveWeights` writes a bare state dict (integer buffers as I64) that PyTorch loads
 * with `safetensors.torch.load_file` + `load_state_dict`.
 */

import type { Module } from "./module.ts";
import type { HostTensor } from "./host-tensor.ts";
import { toHost } from "./host-tensor.ts";
import type { Optimizer, OptimizerStateDict, ParamState } from "./optim/optimizer.ts";
import { readSafetensors, type SafetensorsWriteEntry, writeSafetensors } from "./safetensors.ts";
import { type Tensor, tensor } from "./tensor.ts";

export const CHECKPOINT_FORMAT = "skin-deep-unlearning/checkpoint-v1";
const RESERVED = new Set(["format", "optimizer"]);

/** Integer buffers go to disk as I64, PyTorch's dtype for them (num_batches_tracked). */
function torchDtypes(
  host: Map<string, HostTensor>,
  prefix = "",
): [string, SafetensorsWriteEntry][] {
  return [...host].map(([k, t]) => [prefix + k, t.dtype === "i32" ? { ...t, as: "I64" } : t]);
}

/** Saves a module's state dict alone: the interchange format for trained weights. */
export async function saveWeights(
  path: string,
  model: Module,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeSafetensors(path, torchDtypes(await model.stateDictHost()), metadata);
}

/** Loads weights saved by `saveWeights` (or PyTorch) into `model`; returns the file metadata. */
export async function loadWeights(
  path: string,
  model: Module,
  { strict = true }: { strict?: boolean } = {},
): Promise<Record<string, string>> {
  const { tensors, metadata } = await readSafetensors(path);
  try {
    model.loadStateDict(tensors, { strict });
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return metadata;
}

export interface SaveCheckpointOptions {
  model: Module;
  optimizer?: Optimizer;
  /** Free-form strings (epoch, config hash, ...); "format" and "optimizer" are reserved. */
  metadata?: Record<string, string>;
}

/** Writes model and optimiser state to one safetensors file, atomically. */
export async function saveCheckpoint(path: string, o: SaveCheckpointOptions): Promise<void> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.metadata ?? {})) {
    if (RESERVED.has(k)) throw new Error(`checkpoint metadata key "${k}" is reserved`);
    meta[k] = v;
  }
  meta.format = CHECKPOINT_FORMAT;
  const named: [string, Tensor][] = [...o.model.stateDict()].map(([k, t]) => [`model.${k}`, t]);
  const optimizers = o.optimizer ? [["optimizer.", o.optimizer] as const] : [];
  const { host, metas } = await toHostWithOptimizers(named, optimizers);
  if (o.optimizer) meta.optimizer = metas[0];
  await writeSafetensors(path, torchDtypes(host), meta);
}

/**
 * An optimiser's state for a file: its buffers as tensors named `<prefix><param index>.<buffer>`
 * (copies the caller disposes once read) and its kind, lr and step counts as JSON.
 * Runs with several optimisers (the study's TABE has four) save each under its own prefix.
 */
export function optimizerEntries(
  opt: Optimizer,
  prefix: string,
): { tensors: [string, Tensor][]; meta: string } {
  const dict = opt.stateDict();
  const steps: Record<string, number> = {};
  const tensors: [string, Tensor][] = [];
  for (const [i, st] of Object.entries(dict.state)) {
    steps[i] = st.step;
    for (const [b, t] of Object.entries(st.buffers)) tensors.push([`${prefix}${i}.${b}`, t]);
  }
  return { tensors, meta: JSON.stringify({ kind: dict.kind, lr: dict.lr, steps }) };
}

/**
 * Reads `named` and the state of each `[prefix, optimiser]` (optimizerEntries) to the host, and
 * frees the optimisers' state copies whatever happens; returns each optimiser's JSON in order.
 */
export async function toHostWithOptimizers(
  named: readonly [string, Tensor][],
  optimizers: readonly (readonly [string, Optimizer])[],
): Promise<{ host: Map<string, HostTensor>; metas: string[] }> {
  const copies: Tensor[] = [];
  try {
    const all = [...named];
    const metas = optimizers.map(([prefix, opt]) => {
      const state = optimizerEntries(opt, prefix);
      all.push(...state.tensors);
      copies.push(...state.tensors.map(([, t]) => t));
      return state.meta;
    });
    return { host: await toHost(all), metas };
  } finally {
    for (const t of copies) t.dispose();
  }
}

export interface LoadCheckpointOptions {
  model: Module;
  optimizer?: Optimizer;
  strict?: boolean;
}

/** Restores what `saveCheckpoint` wrote; returns the caller's metadata. */
export async function loadCheckpoint(
  path: string,
  o: LoadCheckpointOptions,
): Promise<Record<string, string>> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a checkpoint of this toolkit (format ${JSON.stringify(metadata.format)}); ` +
        `for a bare state dict use loadWeights`,
    );
  }
  const model = new Map<string, HostTensor>();
  const optim = new Map<string, HostTensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith("model.")) model.set(k.slice(6), t);
    else if (k.startsWith("optimizer.")) optim.set(k.slice(10), t);
    else throw new Error(`${path}: unexpected tensor "${k}" (neither model. nor optimizer.)`);
  }
  try {
    o.model.loadStateDict(model, { strict: o.strict ?? true });
    if (o.optimizer) restoreOptimizer(o.optimizer, optim, metadata.optimizer);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const user = { ...metadata };
  for (const k of RESERVED) delete user[k];
  return user;
}

/**
 * Restores what {@link optimizerEntries} saved: `buffers` keyed `<param index>.<buffer>` (the
 * prefix removed) and its JSON.
 */
export function restoreOptimizer(
  opt: Optimizer,
  buffers: Map<string, HostTensor>,
  meta?: string,
): void {
  if (meta === undefined) throw new Error("checkpoint holds no optimiser state");
  let parsed: { kind: string; lr: number; steps: Record<string, number> };
  try {
    parsed = JSON.parse(meta);
  } catch {
    throw new Error(`optimiser metadata is not JSON: ${meta.slice(0, 80)}`);
  }
  const state: Record<number, ParamState> = {};
  for (const [i, step] of Object.entries(parsed.steps ?? {})) {
    state[Number(i)] = { step, buffers: {} };
  }
  const made: Tensor[] = [];
  try {
    for (const [key, t] of buffers) {
      const dot = key.indexOf(".");
      const i = Number(key.slice(0, dot));
      const st = state[i];
      const param = opt.params[i];
      if (dot < 0 || !st || !param) {
        throw new Error(`optimiser tensor "optimizer.${key}" has no step count or parameter`);
      }
      const upload = tensor(t.data, t.shape, { backend: param.backend });
      made.push(upload);
      st.buffers[key.slice(dot + 1)] = upload;
    }
    const dict: OptimizerStateDict = { kind: parsed.kind, lr: parsed.lr, state };
    opt.loadStateDict(dict);
  } finally {
    for (const t of made) t.dispose();
  }
}
