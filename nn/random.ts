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
