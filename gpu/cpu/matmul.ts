/** CPU twin of gpu/shaders/matmul.wgsl: the reference every WebGPU tile shape is tested against. */

import type { HostStorage, MatmulParams } from "../types.ts";
import { f32, wrap } from "./storage.ts";

/** Copies op(X) of one batch into a dense row-major [rows, cols] buffer. */
function denseOperand(
  src: Float32Array,
  offset: number,
  rows: number,
  cols: number,
  transposed: boolean,
  into: Float32Array,
): Float32Array {
  if (!transposed) return src.subarray(offset, offset + rows * cols);
  // Stored as [cols, rows]: walk it once contiguously and scatter into `into`.
  for (let c = 0; c < cols; c++) {
    const base = offset + c * rows;
    for (let r = 0; r < rows; r++) into[r * cols + c] = src[base + r];
  }
  return into;
}

/**
 * i-k-j order: the innermost loop runs along contiguous rows of B and C, and each row of C
 * accumulates in float64 before one rounding, so the twin is the more accurate of the two.
 */
export function matmul(a: HostStorage, b: HostStorage, p: MatmulParams): HostStorage {
  const { batch, m, n, k } = p;
  const av = f32(a);
  const bv = f32(b);
  const needA = batch > 0 ? (batch - 1) * p.aBatchStride + m * k : 0;
  const needB = batch > 0 ? (batch - 1) * p.bBatchStride + k * n : 0;
  if (av.length < needA || bv.length < needB) {
    throw new Error(
      `matmul: operands of ${av.length} and ${bv.length} elements are too small for ` +
        `${JSON.stringify(p)} (need ${needA} and ${needB})`,
    );
  }
  const out = new Float32Array(batch * m * n);
  const tmpA = p.transA ? new Float32Array(m * k) : new Float32Array(0);
  const tmpB = p.transB ? new Float32Array(k * n) : new Float32Array(0);
  const row = new Float64Array(n);
  for (let bi = 0; bi < batch; bi++) {
    const A = denseOperand(av, bi * p.aBatchStride, m, k, p.transA, tmpA);
    const B = denseOperand(bv, bi * p.bBatchStride, k, n, p.transB, tmpB);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let kk = 0; kk < k; kk++) {
        const aik = A[i * k + kk];
        const bRow = kk * n;
        for (let j = 0; j < n; j++) row[j] += aik * B[bRow + j];
      }
      out.set(row, bi * m * n + i * n);
    }
  }
  return wrap(out);
}
