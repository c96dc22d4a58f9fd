/**
 * Checkpoints of a train run: everything --resume needs to continue a killed run exactly where
 * its last checkpoint left it. One safetensors file holds every part of the network under its
 * name (`encoder.<torchvision key>`, `classifier.*`, `aux1.*`, `aux2.*`; integer buffers as I64,
 * as PyTorch keeps them), each optimiser's buffers (`optimizer.<name>.<param>.<buffer>`), and in
 * its metadata the optimisers' step counts, the engine's random-stream position, the epochs done
 * with their records, and the options the run was started with. Written atomically, so a kill
 * during the write leaves the previous checkpoint whole.
 *
 * Beside it, bare state dicts of the parts (`encoder.safetensors`, ...) are what `evaluate` loads
 * and what PyTorch reads with `safetensors.torch.load_file`.
 */

import type { LossScalerSnapshot } from "../nn/optim/loss-scaler.ts";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { HostTensor } from "../nn/host-tensor.ts";
import {
  loadWeights,
  restoreOptimizer,
  saveWeights,
  toHostWithOptimizers,
} from "../nn/checkpoint.ts";
import type { Optimizer } from "../nn/optim/optimizer.ts";
import { restoreSeedState, seedState } from "../nn/random.ts";
import {
  readSafetensors,
  type SafetensorsWriteEntry,
  writeSafetensors,
} from "../nn/safetensors.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { DebiasNetwork, DebiasOptimisers } from "../debias/train-step.ts";
import type { EpochRecord } from "./run-layout.ts";
import { networkParts } from "./train-network.ts";

export const TRAIN_CHECKPOINT_FORMAT = "skin-deep-unlearning/train-checkpoint-v1";

/** The checkpoint's file name inside a weights folder. */
export const CHECKPOINT_FILE = "checkpoint.safetensors";

/** Where training stood when the checkpoint was written. */
export interface TrainProgress {
  /** Epochs completed. */
  epoch: number;
  /** Their records, in order. */
  records: EpochRecord[];
  /** The best validation AUC so far and its epoch (under --cv the kept weights are these). */
  best?: { epoch: number; valAuc: number };
  /** Under --precision f16, the loss scaler as it stood, so a resumed run scales alike. */
  lossScale?: LossScalerSnapshot;
}

/** What a checkpoint says besides its tensors. */
export interface CheckpointInfo {
  progress: TrainProgress;
  /** The train options the run was started with. */
  options: Record<string, unknown>;
}

/** The optimisers by name: main, confusion (TABE's boosted encoder optimiser), aux1, aux2. */
export function namedOptimisers(opt: DebiasOptimisers): [string, Optimizer][] {
  return [
    ["main", opt.main],
    ...(opt.confusion ? [["confusion", opt.confusion] as [string, Optimizer]] : []),
    ...opt.aux.map((o, i): [string, Optimizer] => [`aux${i + 1}`, o]),
  ];
}

const asTorch = ([k, t]: [string, HostTensor]): [string, SafetensorsWriteEntry] => [
  k,
  t.dtype === "i32" ? { ...t, as: "I64" } : t,
];

/** Writes the checkpoint of `net` and `opt` at `progress` to `path`, atomically. */
export async function saveTrainCheckpoint(
  path: string,
  net: DebiasNetwork,
  opt: DebiasOptimisers,
  info: CheckpointInfo,
): Promise<void> {
  const named: [string, Tensor][] = [];
  for (const [part, module] of networkParts(net)) {
    for (const [k, t] of module.stateDict()) named.push([`${part}.${k}`, t]);
  }
  const list = namedOptimisers(opt);
  const { host, metas } = await toHostWithOptimizers(
    named,
    list.map(([name, o]) => [`optimizer.${name}.`, o] as const),
  );
  const optimizers = Object.fromEntries(list.map(([name], k) => [name, metas[k]]));
  mkdirSync(dirname(path), { recursive: true });
  await writeSafetensors(path, [...host].map(asTorch), {
    format: TRAIN_CHECKPOINT_FORMAT,
    progress: JSON.stringify(info.progress),
    options: JSON.stringify(info.options),
    optimizers: JSON.stringify(optimizers),
    seedState: String(seedState()),
  });
}

function parseJson<T>(path: string, key: string, text: string | undefined): T {
  if (text === undefined) throw new Error(`${path}: checkpoint metadata has no "${key}"`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path}: checkpoint metadata "${key}" is not JSON`);
  }
}

function checkFormat(path: string, metadata: Record<string, string>): void {
  if (metadata.format !== TRAIN_CHECKPOINT_FORMAT) {
    throw new Error(
      `${path}: not a train checkpoint (format ${JSON.stringify(metadata.format)}, expected ` +
        `${TRAIN_CHECKPOINT_FORMAT})`,
    );
  }
}

/** Reads what a checkpoint says about itself, without loading it. */
export async function readCheckpointInfo(path: string): Promise<CheckpointInfo> {
  const { metadata } = await readSafetensors(path);
  checkFormat(path, metadata);
  return {
    progress: parseJson(path, "progress", metadata.progress),
    options: parseJson(path, "options", metadata.options),
  };
}

/**
 * Restores network, optimisers and the random stream from `path`; returns its info. The network
 * and optimisers must be built as the run built them (strict: every tensor must fit).
 */
export async function loadTrainCheckpoint(
  path: string,
  net: DebiasNetwork,
  opt: DebiasOptimisers,
): Promise<CheckpointInfo> {
  const { tensors, metadata } = await readSafetensors(path);
  checkFormat(path, metadata);
  const parts = new Map(networkParts(net));
  const optimizers = new Map(namedOptimisers(opt));
  const states = new Map<string, Map<string, HostTensor>>();
  const bucket = (name: string) => {
    let m = states.get(name);
    if (!m) states.set(name, m = new Map());
    return m;
  };
  for (const [key, t] of tensors) {
    const dot = key.indexOf(".");
    const head = key.slice(0, dot);
    if (head === "optimizer") {
      const rest = key.slice(dot + 1);
      const dot2 = rest.indexOf(".");
      bucket(`optimizer.${rest.slice(0, dot2)}`).set(rest.slice(dot2 + 1), t);
    } else if (parts.has(head)) {
      bucket(head).set(key.slice(dot + 1), t);
    } else {
      throw new Error(
        `${path}: tensor "${key}" belongs to no part of this network ` +
          `(${[...parts.keys()].join(", ")}): was the run started with other options?`,
      );
    }
  }
  const optimizerMeta = parseJson<Record<string, string>>(path, "optimizers", metadata.optimizers);
  try {
    for (const [name, module] of parts) module.loadStateDict(states.get(name) ?? new Map());
    for (const [name, o] of optimizers) {
      if (optimizerMeta[name] === undefined) {
        throw new Error(`the checkpoint holds no state of optimiser "${name}"`);
      }
      restoreOptimizer(o, states.get(`optimizer.${name}`) ?? new Map(), optimizerMeta[name]);
    }
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const seed = Number(metadata.seedState);
  restoreSeedState(seed);
  return {
    progress: parseJson(path, "progress", metadata.progress),
    options: parseJson(path, "options", metadata.options),
  };
}

/** Writes each part's bare state dict as `<dir>/<part>.safetensors`; returns the paths. */
export async function saveNetworkWeights(
  dir: string,
  net: DebiasNetwork,
  metadata: Record<string, string> = {},
): Promise<string[]> {
  const paths: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const [part, module] of networkParts(net)) {
    const path = join(dir, `${part}.safetensors`);
    await saveWeights(path, module, { part, ...metadata });
    paths.push(path);
  }
  return paths;
}

/**
 * Loads the bare state dicts of `saveNetworkWeights` into `net` (encoder and classifier are
 * required; a missing bias-head file is an error only when `heads` is set).
 */
export async function loadNetworkWeights(
  dir: string,
  net: DebiasNetwork,
  o: { heads?: boolean } = {},
): Promise<void> {
  for (const [part, module] of networkParts(net)) {
    if (!o.heads && part.startsWith("aux")) continue;
    await loadWeights(join(dir, `${part}.safetensors`), module);
  }
}
