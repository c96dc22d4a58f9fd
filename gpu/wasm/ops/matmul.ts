/**
 * Batched matmul on the system BLAS when the runtime has one, else the WASM GEMM (transposes
 * become packing strides, never copies).
 */

import type { MatmulParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import {
  A_CS,
  A_KIND,
  A_PTR,
  A_RS,
  B_CS,
  B_KIND,
  B_PTR,
  B_RS,
  G_KC,
  KIND_STRIDED,
  TASK,
} from "../kernels/slots.ts";
import { PARALLEL_MIN_FLOPS, setBlocking, tilePlan } from "./gemm-plan.ts";
import { blasGemm } from "./blas-gemm.ts";

export function matmul(rt: WasmRuntime, a: WasmStorage, b: WasmStorage, q: MatmulParams) {
  const { batch, m, n, k } = q;
  const aNeed = (batch - 1) * q.aBatchStride + m * k;
  const bNeed = (batch - 1) * q.bBatchStride + k * n;
  if (a.length < aNeed || b.length < bNeed) {
    throw new Error(
      `matmul: A has ${a.length} elements (needs ${aNeed}), B has ${b.length} (needs ${bNeed})`,
    );
  }
  const out = rt.alloc(batch * m * n, "f32");
  if (k === 0 || out.length === 0) {
    out.data.fill(0);
    return out;
  }
  if (rt.blas.path) {
    blasGemm(rt, {
      transA: q.transA,
      transB: q.transB,
      m,
      n,
      k,
      a: a.ptr,
      lda: q.transA ? m : k,
      b: b.ptr,
      ldb: q.transB ? k : n,
      c: out.ptr,
      ldc: n,
      batch,
      aBatchStride: q.aBatchStride,
      bBatchStride: q.bBatchStride,
      cBatchStride: m * n,
    });
    return out;
  }
  const p = rt.begin();
  p[A_KIND] = KIND_STRIDED;
  p[A_PTR] = a.ptr;
  p[A_RS] = q.transA ? 1 : k;
  p[A_CS] = q.transA ? m : 1;
  p[B_KIND] = KIND_STRIDED;
  p[B_PTR] = b.ptr;
  p[B_RS] = q.transB ? 1 : n;
  p[B_CS] = q.transB ? k : 1;
  rt.workspace(setBlocking(rt, p, k));
  const { tm, tn } = tilePlan(batch, m, n, rt.threads);
  const parallel = batch * m * n * k >= PARALLEL_MIN_FLOPS;
  p.set([batch, m, n, out.ptr, q.aBatchStride, q.bBatchStride, tm, tn, 0, 0], TASK);
  // Column tiles would each repack all of A (at 1024^3 on 2 threads: 8 tiles); pack it once.
  const packed = Math.ceil(n / tn) > 1
    ? rt.alloc(batch * rt.kernels.packed_a_bytes(m, k, p[G_KC]) / 4, "f32")
    : null;
  try {
    if (packed) {
      p[TASK + 9] = packed.ptr;
      rt.run("pack_a_task", parallel);
    }
    rt.run("matmul_task", parallel);
  } finally {
    if (packed) rt.free(packed);
  }
  return out;
}
