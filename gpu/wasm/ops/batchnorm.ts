/** Drivers of the batch-norm kernels (kernels/batchnorm.ts). */

import type { BatchNormShape } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { SILU_GRAD } from "../../fused-elementwise.ts";
import { axpby, binary, fused, PARALLEL_MIN_ELEMENTS, unary } from "./elementwise.ts";
import { withRunningUpdate } from "../../cpu/batchnorm.ts";

function check(op: string, x: WasmStorage, s: BatchNormShape, perChannel: WasmStorage[]): void {
  if (x.length !== s.n * s.c * s.spatial) {
    throw new Error(`${op}: input of ${x.length} elements is not [${s.n}, ${s.c}, ${s.spatial}]`);
  }
  for (const t of [x, ...perChannel]) {
    if (t.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${t.dtype}`);
  }
  for (const t of perChannel) {
    if (t.length !== s.c) {
      throw new Error(`${op}: per-channel tensor of ${t.length} elements for ${s.c} channels`);
    }
  }
}

/** The kernels' buffer slots, by the name a driver passes the buffer under. */
const SLOT = {
  mean: S.BN_MEAN,
  variance: S.BN_VAR,
  gamma: S.BN_GAMMA,
  beta: S.BN_BETA,
  gy: S.BN_GY,
  out: S.BN_OUT,
  gGamma: S.BN_GGAMMA,
  gBeta: S.BN_GBETA,
} as const;

/** Opens a dispatch: the shape, eps, x and each named buffer's pointer in its slot. */
function begin(
  rt: WasmRuntime,
  x: WasmStorage,
  s: BatchNormShape,
  buffers: Partial<Record<keyof typeof SLOT, WasmStorage>>,
  eps = 0,
): Int32Array {
  const p = rt.begin();
  p[S.BN_N] = s.n;
  p[S.BN_C] = s.c;
  p[S.BN_S] = s.spatial;
  p[S.BN_X] = x.ptr;
  for (const [name, t] of Object.entries(buffers)) p[SLOT[name as keyof typeof SLOT]] = t.ptr;
  rt.paramsF32[S.BN_EPS] = eps;
  return p;
}

const parallel = (rt: WasmRuntime, x: WasmStorage, s: BatchNormShape) =>
  x.length >= PARALLEL_MIN_ELEMENTS && s.c >= rt.threads;

export function batchNormStats(rt: WasmRuntime, x: WasmStorage, s: BatchNormShape) {
  check("batchNormStats", x, s, []);
  const mean = rt.alloc(s.c, "f32");
  const variance = rt.alloc(s.c, "f32");
  begin(rt, x, s, { mean, variance });
  rt.run("bn_stats_task", parallel(rt, x, s));
  return { mean, variance };
}

/** The WASM statistics kernel, then the running update on the heap views (C-long loops). */
export function batchNormStatsRunning(
  rt: WasmRuntime,
  x: WasmStorage,
  s: BatchNormShape,
  runningMean: WasmStorage,
  runningVar: WasmStorage,
  count: WasmStorage | null,
  momentum: number,
): { mean: WasmStorage; variance: WasmStorage } {
  const stats = () => batchNormStats(rt, x, s);
  return withRunningUpdate(stats, s, runningMean, runningVar, count, momentum);
}

export function batchNormApply(
  rt: WasmRuntime,
  x: WasmStorage,
  mean: WasmStorage,
  variance: WasmStorage,
  gamma: WasmStorage,
  beta: WasmStorage,
  eps: number,
  s: BatchNormShape,
): WasmStorage {
  check("batchNormApply", x, s, [mean, variance, gamma, beta]);
  const out = rt.alloc(x.length, "f32");
  begin(rt, x, s, { mean, variance, gamma, beta, out }, eps);
  rt.run("bn_apply_task", x.length >= PARALLEL_MIN_ELEMENTS);
  return out;
}

/**
 * relu(batchNormApply(x) + residual?) from the WASM kernels of its three steps: on the CPU each
 * pass is cheap and a fused kernel would be one more to keep (the GPU fuses them).
 */
export function batchNormApplyReLU(
  rt: WasmRuntime,
  x: WasmStorage,
  mean: WasmStorage,
  variance: WasmStorage,
  gamma: WasmStorage,
  beta: WasmStorage,
  residual: WasmStorage | null,
  eps: number,
  s: BatchNormShape,
): WasmStorage {
  if (residual && residual.length !== x.length) {
    throw new Error(`batchNormApplyReLU: residual of ${residual.length} for ${x.length} elements`);
  }
  let pre = batchNormApply(rt, x, mean, variance, gamma, beta, eps, s);
  if (residual) {
    const sum = axpby(rt, 1, pre, 1, residual);
    rt.free(pre);
    pre = sum;
  }
  const out = unary(rt, "relu", pre, 0);
  rt.free(pre);
  return out;
}

export function batchNormBackward(
  rt: WasmRuntime,
  x: WasmStorage,
  gy: WasmStorage,
  mean: WasmStorage,
  variance: WasmStorage,
  gamma: WasmStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
) {
  check("batchNormBackward", x, s, [mean, variance, gamma]);
  if (gy.length !== x.length) {
    throw new Error(`batchNormBackward: gradient of ${gy.length} elements for ${x.length}`);
  }
  const gx = rt.alloc(x.length, "f32");
  const gGamma = rt.alloc(s.c, "f32");
  const gBeta = rt.alloc(s.c, "f32");
  const p = begin(rt, x, s, { gy, mean, variance, gamma, out: gx, gGamma, gBeta }, eps);
  p[S.BN_BATCH_STATS] = batchStats ? 1 : 0;
  rt.run("bn_backward_task", parallel(rt, x, s));
  return { gx, gGamma, gBeta };
}

/** batchNormBackward of relu(batch norm), from the WASM kernels: ReLU's mask, then the rest. */
export function batchNormReLUBackward(
  rt: WasmRuntime,
  x: WasmStorage,
  y: WasmStorage,
  gy: WasmStorage,
  mean: WasmStorage,
  variance: WasmStorage,
  gamma: WasmStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: WasmStorage; gGamma: WasmStorage; gBeta: WasmStorage } {
  if (y.length !== x.length || gy.length !== x.length) {
    throw new Error(
      `batchNormReLUBackward: output ${y.length} and gradient ${gy.length} for ${x.length} elements`,
    );
  }
  const view = { shape: [x.length], strides: [1], offset: 0 };
  const masked = binary(rt, "reluGrad", gy, view, y, view);
  const grads = batchNormBackward(rt, x, masked, mean, variance, gamma, eps, s, batchStats);
  rt.free(masked);
  return grads;
}

/** silu(batchNormApply(x)): the two kernels in turn, the normalised tensor freed. */
export function batchNormApplySiLU(
  rt: WasmRuntime,
  x: WasmStorage,
  mean: WasmStorage,
  variance: WasmStorage,
  gamma: WasmStorage,
  beta: WasmStorage,
  eps: number,
  s: BatchNormShape,
): WasmStorage {
  const z = batchNormApply(rt, x, mean, variance, gamma, beta, eps, s);
  const out = unary(rt, "silu", z, 0);
  rt.free(z);
  return out;
}

/** batchNormBackward of silu(batch norm): z recomputed, gy through SiLU's gradient, then BN's. */
export function batchNormSiLUBackward(
  rt: WasmRuntime,
  x: WasmStorage,
  gy: WasmStorage,
  mean: WasmStorage,
  variance: WasmStorage,
  gamma: WasmStorage,
  beta: WasmStorage,
  eps: number,
  s: BatchNormShape,
  batchStats: boolean,
): { gx: WasmStorage; gGamma: WasmStorage; gBeta: WasmStorage } {
  if (gy.length !== x.length) {
    throw new Error(`batchNormSiLUBackward: gradient of ${gy.length} for ${x.length} elements`);
  }
  const z = batchNormApply(rt, x, mean, variance, gamma, beta, eps, s);
  const gz = fused(rt, SILU_GRAD, [gy, z]);
  rt.free(z);
  const grads = batchNormBackward(rt, x, gz, mean, variance, gamma, eps, s, batchStats);
  rt.free(gz);
  return grads;
}
