/** CPU twin of gpu/shaders/softmax.wgsl: row-wise, max-subtracted, float64 sums. */

import type { HostStorage } from "../types.ts";
import { f32, wrap } from "./storage.ts";

export function softmax(x: HostStorage, rows: number, cols: number, log: boolean): HostStorage {
  const xs = f32(x);
  if (xs.length !== rows * cols) {
    throw new Error(`softmax: ${xs.length} elements are not ${rows} rows of ${cols}`);
  }
  const out = new Float32Array(xs.length);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, xs[base + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(xs[base + j] - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < cols; j++) {
      const shifted = xs[base + j] - max;
      out[base + j] = log ? shifted - logSum : Math.exp(shifted) / sum;
    }
  }
  return wrap(out);
}
