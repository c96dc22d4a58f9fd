/**
 * Initial weights of a registry trunk from a local safetensors state dict (`--weights PATH`):
 * the published torchvision / timm layout is mapped onto the encoder by the entry's
 * {@link WeightMapping} (prefix stripped, classifier keys dropped) and loaded strictly, so a file
 * for a different trunk is refused with the keys that do not fit. A file saved from the encoder
 * itself (saveWeights) loads the same way.
 */

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

/** Loads `path` into the trunk's encoder; the error names the file and the mismatched keys. */
export async function loadTrunkWeights(trunk: Trunk, path: string): Promise<void> {
  const { tensors } = await readSafetensors(path);
  const state = mapTrunkState(tensors, trunkEntry(trunk.name).weights);
  try {
    trunk.encoder.loadStateDict(state, { strict: true });
  } catch (err) {
    throw new Error(
      `--weights ${path}: not a ${trunk.name} state dict (${(err as Error).message})`,
    );
  }
}
