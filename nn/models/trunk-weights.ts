/**
 * Initial weights of a registry trunk from a local safetensors state dict (`--weights PATH`):
 * the published torchvision / timm layout is mapped onto the encoder by the entry's
 * {@link WeightMapping} (prefix stripped, classifier keys dropped: the only keys allowed to go)
 * and loaded strictly (nn/pretrained/strict-load.ts), so a file for a different trunk is refused
 * with the keys that do not fit. A file saved from the encoder itself (saveWeights) loads the
 * same way.
 */

import { loadStateChecked, type StateDictReport } from "../pretrained/strict-load.ts";
import { readSafetensors, type SafetensorsTensor } from "../safetensors.ts";
import type { Trunk, WeightMapping } from "./registry.ts";
import { trunkEntry } from "./registry.ts";

/** The state dict of `tensors` in the encoder's names under `mapping`. */
export function mapTrunkState(
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  mapping: WeightMapping,
): Map<string, SafetensorsTensor> {
  const dropped = new Set(mapping.dropped);
  const out = new Map<string, SafetensorsTensor>();
  for (const [key, t] of tensors) {
    const local = mapping.prefix && key.startsWith(mapping.prefix)
      ? key.slice(mapping.prefix.length)
      : key;
    if (dropped.has(local)) continue;
    out.set(local, t);
  }
  return out;
}

/**
 * Loads `path` into the trunk's encoder, strictly: the error names the file (as `source`, by
 * default `--weights PATH`) and lists every missing, unexpected and mis-shaped key.
 */
export async function loadTrunkWeights(
  trunk: Trunk,
  path: string,
  { source = `--weights ${path}` }: { source?: string } = {},
): Promise<StateDictReport> {
  const { tensors } = await readSafetensors(path);
  const state = mapTrunkState(tensors, trunkEntry(trunk.name).weights);
  return loadStateChecked(trunk.encoder, state, { source, modelName: trunk.name });
}
