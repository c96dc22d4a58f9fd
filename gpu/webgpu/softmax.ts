/** WebGPU side of gpu/shaders/softmax.wgsl: a thread per narrow row, a workgroup per wide one. */

import { GpuRuntime, type GpuStorage } from "./runtime.ts";

/** From this many columns a row gets its own workgroup (a tree reduction beats a loop). */
const WIDE_ROW = 128;

export function softmax(
  rt: GpuRuntime,
  x: GpuStorage,
  rows: number,
  cols: number,
  log: boolean,
): GpuStorage {
  if (x.length !== rows * cols) {
    throw new Error(`softmax: ${x.length} elements are not ${rows} rows of ${cols}`);
  }
  const y = rt.alloc(x.length, "f32");
  const wide = cols >= WIDE_ROW;
  const wg = wide ? 128 : 64;
  rt.run({
    family: "softmax",
    entry: wide ? "perWorkgroup" : "perThread",
    workgroupSize: [wg, 1, 1],
    dispatch: GpuRuntime.grid(wide ? rows : Math.ceil(rows / wg)),
    params: [{ u32: rows }, { u32: cols }, { u32: log ? 1 : 0 }],
    inputs: [x],
    outputs: [y],
  });
  return y;
}
