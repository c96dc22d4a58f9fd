/**
 * WebGPU side of gpu/shaders/batchnorm.wgsl. Statistics and parameter gradients are per-channel
 * workgroup reductions (one workgroup per channel); apply and the input gradient are
 * element-wise.
 */

import type { BatchNormShape } from "../types.ts";
import { checkRunning, runningWeights } from "../batchnorm-running.ts";
import { SILU_GRAD } from "../fused-elementwise.ts";
import { fused } from "./fused.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const REDUCE_WG = [256, 1, 1] as const;
const ELEMENT_WG = [256, 1, 1] as const;

function params(s: BatchNormShape, eps: number, batchStats: boolean): ParamValue[] {
  return [
    { u32: s.n },
    { u32: s.c },
    { u32: s.spatial },
    { f32: eps },
    { u32: s.n * s.c * s.spatial },
    { u32: batchStats ? 1 : 0 },
  ];
}

function checkShape(op: string, x: GpuStorage, s: BatchNormShape): void {
  if (x.length !== s.n * s.c * s.spatial) {
    throw new Error(`${op}: input of ${x.length} elements is not [${s.n}, ${s.c}, ${s.spatial}]`);
  }
}

const elements = (s: BatchNormShape) =>
  GpuRuntime.grid(Math.ceil((s.n * s.c * s.spatial) / ELEMENT_WG[0]));

/**
 * A training batch's statistics, the running ones moved in place and 1 added to `count` (or to
 * a scratch counter when there is none): one dispatch, where the update composed of axpby,
 * copies and casts took seven more.
 */
export function batchNormStatsRunning(
  rt: GpuRuntime,
  x: GpuStorage,
  s: BatchNormShape,
  runningMean: GpuStorage,
  runningVar: GpuStorage,
  count: GpuStorage | null,
  momentum: number,
): { mean: GpuStorage; variance: GpuStorage } {
  checkShape("batchNormStatsRunning", x, s);
  checkRunning("batchNormStatsRunning", s, runningMean, runningVar, count);
  const mean = rt.alloc(s.c, "f32");
  const variance = rt.alloc(s.c, "f32");
  const counter = count ?? rt.alloc(1, "i32");
  rt.run({
    family: "batchnorm",
    entry: "statsRunning",
    workgroupSize: REDUCE_WG,
    dispatch: GpuRuntime.grid(s.c),
    params: [
      ...params(s, 0, true),
      ...runningWeights(s, momentum).map((f32) => ({ f32 })),
    ],
    inputs: [x],
    outputs: [mean, variance, runningMean, runningVar, counter],
  });
  if (!count) rt.release(counter);
  return { mean, variance };
}

/** One pass of batchnorm.wgsl's apply template: `entry` picks what follows the normalisation. */
function runApply(
  rt: GpuRuntime,
  op: string,
  entry: string,
  x: GpuStorage,
  perChannel: readonly GpuStorage[],
  eps: number,
  s: BatchNormShape,
  residual: GpuStorage | null = null,
): GpuStorage {
  checkShape(op, x, s);
  if (residual && residual.length !== x.length) {
    throw new Error(`${op}: residual of ${residual.length} for ${x.length} elements`);
  }
  const y = rt.alloc(x.length, "f32");
  rt.run({
    family: "batchnorm",
    entry,
    workgroupSize: ELEMENT_WG,
    dispatch: elements(s),
    params: params(s, eps, false),
    inputs: residual ? [x, ...perChannel, residual] : [x, ...perChannel],
    outputs: [y],
  });
  return y;
}

export function batchNormApply(
  rt: GpuRuntime,
  x: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  beta: GpuStorage,
  eps: number,
  s: BatchNormShape,
): GpuStorage {
  return runApply(rt, "batchNormApply", "apply", x, [mean, variance, gamma, beta], eps, s);
}

/** relu(batchNormApply(x) + residual?) in one pass: the pre-activation is never stored. */
export function batchNormApplyReLU(
  rt: GpuRuntime,
  x: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  beta: GpuStorage,
  residual: GpuStorage | null,
  eps: number,
  s: BatchNormShape,
): GpuStorage {
  const entry = residual ? "applyResidualReLU" : "applyReLU";
  const perChannel = [mean, variance, gamma, beta];
  return runApply(rt, "batchNormApplyReLU", entry, x, perChannel, eps, s, residual);
}

/** silu(batchNormApply(x)) in one pass: the normalised tensor is never stored. */
export function batchNormApplySiLU(
  rt: GpuRuntime,
  x: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  beta: GpuStorage,
  eps: number,
  s: BatchNormShape,
): GpuStorage {
  return runApply(rt, "batchNormApplySiLU", "applySiLU", x, [mean, variance, gamma, beta], eps, s);
}

/** Storage bindings the fused SiLU input-gradient kernel takes (x, gy, 6 per-channel, gx). */
export const SILU_BACKWARD_BINDINGS = 9;

/**
 * batchNormBackward of silu(batch norm): each kernel recomputes the normalised value from x and
 * takes gy through SiLU's gradient there as it reads it. A device with fewer than
 * SILU_BACKWARD_BINDINGS storage bindings per stage (WebGPU's default is 8) writes that gradient
 * out first instead (`composed`), as the WASM backend does.
 */
export function batchNormSiLUBackward(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  beta: GpuStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
  composed = Number(rt.device.limits.maxStorageBuffersPerShaderStage) < SILU_BACKWARD_BINDINGS,
): { gx: GpuStorage; gGamma: GpuStorage; gBeta: GpuStorage } {
  checkShape("batchNormSiLUBackward", x, s);
  if (gy.length !== x.length) {
    throw new Error(`batchNormSiLUBackward: gradient of ${gy.length} for ${x.length} elements`);
  }
  if (!composed) {
    return backward(rt, x, gy, { silu: beta }, mean, variance, gamma, eps, s, batchStats);
  }
  const z = batchNormApply(rt, x, mean, variance, gamma, beta, eps, s);
  const gz = fused(rt, SILU_GRAD, [gy, z]);
  rt.release(z);
  const grads = backward(rt, x, gz, null, mean, variance, gamma, eps, s, batchStats);
  rt.release(gz);
  return grads;
}

export function batchNormBackward(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: GpuStorage; gGamma: GpuStorage; gBeta: GpuStorage } {
  checkShape("batchNormBackward", x, s);
  return backward(rt, x, gy, null, mean, variance, gamma, eps, s, batchStats);
}

/** batchNormBackward of relu(batch norm): the ReLU's mask (y > 0) applied as gy is read. */
export function batchNormReLUBackward(
  rt: GpuRuntime,
  x: GpuStorage,
  y: GpuStorage,
  gy: GpuStorage,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: GpuStorage; gGamma: GpuStorage; gBeta: GpuStorage } {
  checkShape("batchNormReLUBackward", x, s);
  if (y.length !== x.length || gy.length !== x.length) {
    throw new Error(
      `batchNormReLUBackward: output ${y.length} and gradient ${gy.length} for ${x.length} elements`,
    );
  }
  return backward(rt, x, gy, { relu: y }, mean, variance, gamma, eps, s, batchStats);
}

/** The activation a backward reads its gradient through: ReLU's output, or SiLU's beta. */
type Activation = { relu: GpuStorage } | { silu: GpuStorage } | null;

/** The two passes of the backward: per-channel sums, then the input gradient. */
function backward(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  activation: Activation,
  mean: GpuStorage,
  variance: GpuStorage,
  gamma: GpuStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: GpuStorage; gGamma: GpuStorage; gBeta: GpuStorage } {
  const gGamma = rt.alloc(s.c, "f32");
  const gBeta = rt.alloc(s.c, "f32");
  const gx = rt.alloc(x.length, "f32");
  const p = params(s, eps, batchStats);
  const [suffix, paramsExtra, inputExtra] = !activation
    ? ["", [], []]
    : "relu" in activation
    ? ["ReLU", [activation.relu], [activation.relu]]
    : ["SiLU", [gamma, activation.silu], [activation.silu]];
  rt.run({
    family: "batchnorm",
    entry: `gradParams${suffix}`,
    workgroupSize: REDUCE_WG,
    dispatch: GpuRuntime.grid(s.c),
    params: p,
    inputs: [x, gy, mean, variance, ...paramsExtra],
    outputs: [gGamma, gBeta],
  });
  rt.run({
    family: "batchnorm",
    entry: `gradInput${suffix}`,
    workgroupSize: ELEMENT_WG,
    dispatch: elements(s),
    params: p,
    inputs: [x, gy, mean, variance, gamma, gGamma, gBeta, ...inputExtra],
    outputs: [gx],
  });
  return { gx, gGamma, gBeta };
}
