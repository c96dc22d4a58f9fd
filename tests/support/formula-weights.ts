/**
 * Deterministic pseudo-random weights from (tensor name, element index) alone: the TypeScript
 * twin of tools/fixtures/formula_weights.py (its doc gives the rules), so a golden fixture holds
 * outputs and gradients but no weights, and both sides fill a model bit for bit alike.
 */

import type { HostTensor } from "../../nn/host-tensor.ts";
import type { Module } from "../../nn/module.ts";

function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h;
}

/** The "lowbias32" integer finaliser. */
function mix(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Element `i` of `name`'s uniform stream, in [0, 1). */
function uniformOf(h: number, i: number): number {
  return (mix(mix(i) ^ h) >>> 8) / 16777216;
}

/** The values of tensor `name` of `shape` under the fixture's rules. */
export function formulaValues(name: string, shape: readonly number[]): Float32Array | Int32Array {
  const n = shape.reduce((a, d) => a * d, 1);
  const leaf = name.slice(name.lastIndexOf(".") + 1);
  if (leaf === "num_batches_tracked") return new Int32Array(n);
  const h = fnv1a(name);
  const rank = shape.length;
  let f: (u: number) => number;
  if (leaf === "running_mean") f = (u) => (u - 0.5) * 0.2;
  else if (leaf === "running_var") f = (u) => 0.5 + u;
  else if (leaf === "weight" && rank === 1) f = (u) => 0.75 + 0.5 * u;
  else if (leaf === "bias" && rank === 1) f = (u) => (u - 0.5) * 0.2;
  else if (leaf === "weight" && rank >= 2) {
    const fanIn = shape.slice(1).reduce((a, d) => a * d, 1);
    const bound = Math.sqrt((rank === 4 ? 6 : 3) / fanIn);
    f = (u) => (2 * u - 1) * bound;
  } else f = (u) => 2 * u - 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f(uniformOf(h, i));
  return out;
}

/** A state dict of formula values for every parameter and buffer of `model`. */
export function formulaState(model: Module): Map<string, HostTensor> {
  const state = new Map<string, HostTensor>();
  for (const [name, t] of model.namedTensors()) {
    const data = formulaValues(name, t.shape);
    state.set(name, { dtype: data instanceof Int32Array ? "i32" : "f32", shape: t.shape, data });
  }
  return state;
}

/** The elements a fixture keeps of a tensor of n elements (formula_weights.sample_indices). */
export function sampleIndices(n: number, count = 512): number[] {
  const m = Math.min(n, count);
  return Array.from({ length: m }, (_, k) => Math.floor((k * n) / m));
}
