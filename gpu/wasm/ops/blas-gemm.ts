/**
 * Host side of the BLAS GEMM task (blas-task.ts): writes one (batched) GEMM on heap byte offsets
 * to the parameter slots and splits it over the threads. The longer side of C is cut into one
 * chunk per thread (at multiples of 16 floats, so column chunks start on cache lines): each
 * library call packs its whole shared operand again, so chunks beyond one per thread would buy
 * balance with repeated packing. A batch of several products is split by product first.
 */

import type { GemmCall } from "../blas.ts";
import type { WasmRuntime } from "../runtime.ts";
import * as S from "../kernels/slots.ts";
import { BLAS_GEMM_TASK } from "../blas-task.ts";
import { PARALLEL_MIN_FLOPS, round } from "./gemm-plan.ts";

/** C[b] = A[b]' x B[b]' + beta C[b] on byte offsets; strides in elements (C stride 0: sum). */
export interface BlasGemm extends Omit<GemmCall, "beta"> {
  beta?: number;
  batch?: number;
  aBatchStride?: number;
  bBatchStride?: number;
  cBatchStride?: number;
}

/** Narrowest chunk worth a library call of its own. */
const MIN_CHUNK = 32;

export function blasGemm(rt: WasmRuntime, g: BlasGemm): void {
  const batch = g.batch ?? 1;
  const cBs = g.cBatchStride ?? g.m * g.ldc;
  if (g.m === 0 || g.n === 0 || batch === 0) return;
  const p = rt.begin();
  p[S.SG_TRANS_A] = g.transA ? 1 : 0;
  p[S.SG_TRANS_B] = g.transB ? 1 : 0;
  p[S.SG_M] = g.m;
  p[S.SG_N] = g.n;
  p[S.SG_K] = g.k;
  p[S.SG_A] = g.a;
  p[S.SG_LDA] = g.lda;
  p[S.SG_B] = g.b;
  p[S.SG_LDB] = g.ldb;
  p[S.SG_C] = g.c;
  p[S.SG_LDC] = g.ldc;
  rt.paramsF32[S.SG_BETA] = g.beta ?? 0;
  p[S.SG_BATCH] = batch;
  p[S.SG_A_BS] = g.aBatchStride ?? 0;
  p[S.SG_B_BS] = g.bBatchStride ?? 0;
  p[S.SG_C_BS] = cBs;
  const parallel = rt.threads > 1 && batch * g.m * g.n * g.k >= PARALLEL_MIN_FLOPS;
  const threads = parallel || rt.alwaysParallel ? rt.threads : 1;
  const items = cBs === 0 ? 1 : batch;
  const byRows = g.m > g.n;
  const side = byRows ? g.m : g.n;
  const splits = Math.max(1, Math.min(Math.ceil(threads / items), Math.floor(side / MIN_CHUNK)));
  const chunk = Math.min(side, round(Math.ceil(side / splits), 16));
  p[S.SG_SPLIT_ROWS] = byRows ? 1 : 0;
  p[S.SG_CHUNK] = rt.alwaysParallel ? Math.max(1, Math.ceil(side / rt.threads)) : chunk;
  rt.run(BLAS_GEMM_TASK, parallel);
}
