/**
 * The BLAS GEMM as a thread-pool task: the same (p, tid, nt) contract as the WASM kernels, run
 * by the main thread and every worker, each claiming work items from the parameter block's
 * counter and handing its share to the single-threaded library. Items are chunks of C's rows or
 * columns, per batch item; a batch whose C stride is 0 sums into one C, so its items are chunks
 * only and each walks the whole batch (no two threads ever write the same C element).
 */

import { Blas, type BlasLibrary } from "./blas.ts";
import type { TaskFn } from "./module.ts";
import * as S from "./kernels/slots.ts";

/** Name under which the pool runs the task (WASM kernel names end the same way). */
export const BLAS_GEMM_TASK = "blas_sgemm_task";

/** The tasks a thread adds to the WASM kernels' when a BLAS was found (blas.ts). */
export function hostTasks(
  memory: WebAssembly.Memory,
  library: BlasLibrary | null,
): Map<string, TaskFn> {
  const tasks = new Map<string, TaskFn>();
  if (library) tasks.set(BLAS_GEMM_TASK, blasGemmTask(new Blas(library, memory)));
  return tasks;
}

function blasGemmTask(blas: Blas): TaskFn {
  return (p: number) => {
    const q = new Int32Array(blas.memory.buffer, p, S.PARAM_SLOTS);
    const beta0 = new Float32Array(blas.memory.buffer, p, S.PARAM_SLOTS)[S.SG_BETA];
    const [transA, transB] = [q[S.SG_TRANS_A] !== 0, q[S.SG_TRANS_B] !== 0];
    const [m, n, k] = [q[S.SG_M], q[S.SG_N], q[S.SG_K]];
    const [lda, ldb, ldc] = [q[S.SG_LDA], q[S.SG_LDB], q[S.SG_LDC]];
    const [batch, aBs, bBs, cBs] = [q[S.SG_BATCH], q[S.SG_A_BS], q[S.SG_B_BS], q[S.SG_C_BS]];
    const chunk = q[S.SG_CHUNK];
    const byRows = q[S.SG_SPLIT_ROWS] !== 0;
    const chunks = Math.ceil((byRows ? m : n) / chunk);
    const summed = cBs === 0;
    const items = summed ? chunks : batch * chunks;
    for (;;) {
      const item = Atomics.add(q, S.COUNTER, 1);
      if (item >= items) return;
      const first = summed ? 0 : Math.floor(item / chunks);
      const last = summed ? batch : first + 1;
      const start = (item % chunks) * chunk;
      const len = Math.min(chunk, (byRows ? m : n) - start);
      // Element offsets of the chunk inside A, B and C (row-major; a transpose swaps strides).
      const aOff = byRows ? (transA ? start : start * lda) : 0;
      const bOff = byRows ? 0 : (transB ? start * ldb : start);
      const cOff = byRows ? start * ldc : start;
      for (let b = first; b < last; b++) {
        blas.sgemm({
          transA,
          transB,
          m: byRows ? len : m,
          n: byRows ? n : len,
          k,
          a: (q[S.SG_A] >>> 0) + (b * aBs + aOff) * 4,
          lda,
          b: (q[S.SG_B] >>> 0) + (b * bBs + bOff) * 4,
          ldb,
          beta: summed && b > 0 ? 1 : beta0,
          c: (q[S.SG_C] >>> 0) + (b * cBs + cOff) * 4,
          ldc,
        });
      }
    }
  };
}
