/**
 * CPU twins of gpu/shaders/loss.wgsl. Unlike the GPU, the CPU can stop on a bad label, so an
 * out-of-range class index is an error here (the GPU writes NaN instead).
 */

import type { HostStorage } from "../types.ts";
import { f32, i32, wrap } from "./storage.ts";

export function bceWithLogits(x: HostStorage, target: HostStorage): HostStorage {
  const xs = f32(x);
  const ts = f32(target);
  if (xs.length !== ts.length) {
    throw new Error(`bceWithLogits: ${xs.length} logits but ${ts.length} targets`);
  }
  const out = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    out[i] = Math.max(v, 0) - v * ts[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return wrap(out);
}

/** Validates the label of row `r`: returns -1 for an ignored row, the class otherwise. */
function labelOf(labels: Int32Array, r: number, cols: number, ignoreIndex: number, op: string) {
  const y = labels[r];
  if (y === ignoreIndex) return -1;
  if (y < 0 || y >= cols) {
    throw new Error(
      `${op}: label ${y} at row ${r} is outside the ${cols} classes [0, ${cols}) ` +
        `and is not the ignore index ${ignoreIndex}`,
    );
  }
  return y;
}

function checkShapes(
  op: string,
  logits: Float32Array,
  labels: Int32Array,
  weights: Float32Array | null,
  rows: number,
  cols: number,
): void {
  if (logits.length !== rows * cols) {
    throw new Error(`${op}: ${logits.length} logits are not ${rows} rows of ${cols} classes`);
  }
  if (labels.length !== rows) throw new Error(`${op}: ${labels.length} labels for ${rows} rows`);
  if (weights && weights.length !== cols) {
    throw new Error(`${op}: ${weights.length} class weights for ${cols} classes`);
  }
}

/** log(sum(exp(row))) with the row maximum taken out first. */
function logSumExp(xs: Float32Array, base: number, cols: number): number {
  let max = -Infinity;
  for (let j = 0; j < cols; j++) max = Math.max(max, xs[base + j]);
  let sum = 0;
  for (let j = 0; j < cols; j++) sum += Math.exp(xs[base + j] - max);
  return max + Math.log(sum);
}

export function crossEntropy(
  logits: HostStorage,
  labels: HostStorage,
  classWeights: HostStorage | null,
  rows: number,
  cols: number,
  ignoreIndex: number,
): { loss: HostStorage; weight: HostStorage } {
  const xs = f32(logits);
  const ys = i32(labels);
  const ws = classWeights ? f32(classWeights) : null;
  checkShapes("crossEntropy", xs, ys, ws, rows, cols);
  const loss = new Float32Array(rows);
  const weight = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const y = labelOf(ys, r, cols, ignoreIndex, "crossEntropy");
    if (y < 0) continue;
    const w = ws ? ws[y] : 1;
    loss[r] = w * (logSumExp(xs, r * cols, cols) - xs[r * cols + y]);
    weight[r] = w;
  }
  return { loss: wrap(loss), weight: wrap(weight) };
}

export function crossEntropyBackward(
  logits: HostStorage,
  labels: HostStorage,
  classWeights: HostStorage | null,
  gRow: HostStorage,
  rows: number,
  cols: number,
  ignoreIndex: number,
): HostStorage {
  const xs = f32(logits);
  const ys = i32(labels);
  const ws = classWeights ? f32(classWeights) : null;
  const gs = f32(gRow);
  checkShapes("crossEntropyBackward", xs, ys, ws, rows, cols);
  if (gs.length !== rows) throw new Error(`crossEntropyBackward: ${gs.length} row gradients`);
  const gx = new Float32Array(xs.length);
  for (let r = 0; r < rows; r++) {
    const y = labelOf(ys, r, cols, ignoreIndex, "crossEntropyBackward");
    if (y < 0) continue;
    const base = r * cols;
    const lse = logSumExp(xs, base, cols);
    const k = gs[r] * (ws ? ws[y] : 1);
    for (let j = 0; j < cols; j++) {
      gx[base + j] = k * (Math.exp(xs[base + j] - lse) - (j === y ? 1 : 0));
    }
  }
  return wrap(gx);
}

export function oneHot(labels: HostStorage, cols: number): HostStorage {
  const ys = i32(labels);
  const out = new Float32Array(ys.length * cols);
  for (let r = 0; r < ys.length; r++) {
    const y = ys[r];
    if (y < 0 || y >= cols) {
      throw new Error(`oneHot: label ${y} at position ${r} is outside [0, ${cols})`);
    }
    out[r * cols + y] = 1;
  }
  return wrap(out);
}
