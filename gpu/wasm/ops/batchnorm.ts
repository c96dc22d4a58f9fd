/** Drivers of the batch-norm kernels (kernels/batchnorm.ts). */

import type { BatchNormShape } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { PARALLEL_MIN_ELEMENTS } from "./elementwise.ts";

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

function begin(rt: WasmRuntime, x: WasmStorage, s: BatchNormShape): Int32Array {
  const p = rt.begin();
  p[S.BN_N] = s.n;
  p[S.BN_C] = s.c;
  p[S.BN_S] = s.spatial;
  p[S.BN_X] = x.ptr;
  return p;
}

const parallel = (rt: WasmRuntime, x: WasmStorage, s: BatchNormShape) =>
  x.length >= PARALLEL_MIN_ELEMENTS && s.c >= rt.threads;

export function batchNormStats(rt: WasmRuntime, x: WasmStorage, s: BatchNormShape) {
  check("batchNormStats", x, s, []);
  const mean = rt.alloc(s.c, "f32");
  const variance = rt.alloc(s.c, "f32");
  const p = begin(rt, x, s);
  p[S.BN_MEAN] = mean.ptr;
  p[S.BN_VAR] = variance.ptr;
  rt.run("bn_stats_task", parallel(rt, x, s));
  return { mean, variance };
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
  const y = rt.alloc(x.length, "f32");
  const p = begin(rt, x, s);
  p[S.BN_MEAN] = mean.ptr;
  p[S.BN_VAR] = variance.ptr;
  p[S.BN_GAMMA] = gamma.ptr;
  p[S.BN_BETA] = beta.ptr;
  p[S.BN_OUT] = y.ptr;
  rt.paramsF32[S.BN_EPS] = eps;
  rt.run("bn_apply_task", x.length >= PARALLEL_MIN_ELEMENTS);
  return y;
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
  const p = begin(rt, x, s);
  p[S.BN_GY] = gy.ptr;
  p[S.BN_MEAN] = mean.ptr;
  p[S.BN_VAR] = variance.ptr;
  p[S.BN_GAMMA] = gamma.ptr;
  p[S.BN_OUT] = gx.ptr;
  p[S.BN_GGAMMA] = gGamma.ptr;
  p[S.BN_GBETA] = gBeta.ptr;
  p[S.BN_BATCH_STATS] = batchStats ? 1 : 0;
  rt.paramsF32[S.BN_EPS] = eps;
  rt.run("bn_backward_task", parallel(rt, x, s));
  return { gx, gGamma, gBeta };
}
