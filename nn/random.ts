/**
 * The engine's seed stream. Random ops take an explicit seed or draw the next one from here, so
 * `manualSeed(s)` makes a whole run (init, dropout, TABE's targets) reproducible on any backend.
 */

import { pcgHash } from "../gpu/random-hash.ts";

let state = 0x9e3779b9;

export function manualSeed(seed: number): void {
  state = pcgHash(seed >>> 0) ^ 0x9e3779b9;
}

export function nextSeed(): number {
  state = pcgHash(state);
  return state;
}

/** The stream's position, for checkpoints: a resumed run draws exactly what it would have. */
export function seedState(): number {
  return state >>> 0;
}

/** Restores a position saved by {@link seedState}. */
export function restoreSeedState(saved: number): void {
  if (!Number.isInteger(saved) || saved < 0 || saved > 0xffffffff) {
    throw new Error(`seed state must be a 32-bit unsigned integer, got ${saved}`);
  }
  state = saved;
}
