/**
 * WebGPU side of gpu/shaders/loss.wgsl. Class weights are optional: without them the kernels are
 * specialised to weight 1 rather than binding a dummy buffer.
 */

import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [64, 1, 1] as const;

const linear = (n: number) => GpuRuntime.grid(Math.ceil(n / WG[0]));

/** Binding of the optional weight buffer at `binding` and the expression of w[y]. */
function weightDefines(weights: GpuStorage | null, binding: number): Record<string, string> {
  if (!weights) return { WEIGHT_DECL: "", WEIGHT_OF_Y: "1.0" };
  return {
    WEIGHT_DECL: `@group(0) @binding(${binding}) var<storage, read> W: array<f32>;`,
    WEIGHT_OF_Y: "W[u32(y)]",
  };
}

function checkShapes(
  op: string,
  logits: GpuStorage,
  labels: GpuStorage,
  weights: GpuStorage | null,
  rows: number,
  cols: number,
): void {
  if (logits.length !== rows * cols) {
    throw new Error(`${op}: ${logits.length} logits are not ${rows} rows of ${cols} classes`);
  }
  if (labels.length !== rows || labels.dtype !== "i32") {
    throw new Error(
      `${op}: labels must be ${rows} i32 values, got ${labels.length} ${labels.dtype}`,
    );
  }
  if (weights && weights.length !== cols) {
    throw new Error(`${op}: ${weights.length} class weights for ${cols} classes`);
  }
}

export function bceWithLogits(rt: GpuRuntime, x: GpuStorage, target: GpuStorage): GpuStorage {
  if (x.length !== target.length) {
    throw new Error(`bceWithLogits: ${x.length} logits but ${target.length} targets`);
  }
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "loss",
    entry: "bce",
    workgroupSize: [256, 1, 1],
    dispatch: GpuRuntime.grid(Math.ceil(x.length / 256)),
    params: [{ u32: x.length }],
    inputs: [x, target],
    outputs: [y],
  });
  return y;
}

export function crossEntropy(
  rt: GpuRuntime,
  logits: GpuStorage,
  labels: GpuStorage,
  classWeights: GpuStorage | null,
  rows: number,
  cols: number,
  ignoreIndex: number,
): { loss: GpuStorage; weight: GpuStorage } {
  checkShapes("crossEntropy", logits, labels, classWeights, rows, cols);
  const loss = rt.alloc(rows, "f32");
  const weight = rt.alloc(rows, "f32");
  const inputs = classWeights ? [logits, labels, classWeights] : [logits, labels];
  rt.run({
    family: "loss",
    entry: "crossEntropy",
    defines: {
      ...weightDefines(classWeights, 3),
      OUT: inputs.length + 1,
      OUT2: inputs.length + 2,
    },
    workgroupSize: WG,
    dispatch: linear(rows),
    params: [{ u32: rows }, { u32: cols }, { i32: ignoreIndex }],
    inputs,
    outputs: [loss, weight],
  });
  return { loss, weight };
}

export function crossEntropyBackward(
  rt: GpuRuntime,
  logits: GpuStorage,
  labels: GpuStorage,
  classWeights: GpuStorage | null,
  gRow: GpuStorage,
  rows: number,
  cols: number,
  ignoreIndex: number,
): GpuStorage {
  checkShapes("crossEntropyBackward", logits, labels, classWeights, rows, cols);
  if (gRow.length !== rows) throw new Error(`crossEntropyBackward: ${gRow.length} row gradients`);
  const gx = rt.alloc(logits.length, "f32");
  const inputs = classWeights ? [logits, labels, gRow, classWeights] : [logits, labels, gRow];
  rt.run({
    family: "loss",
    entry: "crossEntropyBackward",
    defines: { ...weightDefines(classWeights, 4), OUT: inputs.length + 1 },
    workgroupSize: WG,
    dispatch: linear(rows),
    params: [{ u32: rows }, { u32: cols }, { i32: ignoreIndex }],
    inputs,
    outputs: [gx],
  });
  return gx;
}

export function oneHot(rt: GpuRuntime, labels: GpuStorage, cols: number): GpuStorage {
  if (labels.dtype !== "i32") throw new Error(`oneHot: labels must be i32, got ${labels.dtype}`);
  const n = labels.length * cols;
  const y = rt.alloc(n, "f32");
  rt.run({
    family: "loss",
    entry: "oneHot",
    workgroupSize: [256, 1, 1],
    dispatch: GpuRuntime.grid(Math.ceil(n / 256)),
    params: [{ u32: n }, { u32: cols }],
    inputs: [labels],
    outputs: [y],
  });
  return y;
}
