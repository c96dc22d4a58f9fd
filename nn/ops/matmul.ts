/**
 * Matrix products. `gemm` is the primitive: op(a) x op(b) on 2-D or batched 3-D operands, with
 * transposes passed to the kernel as flags rather than materialised, and a batch of 1 (or a 2-D
 * operand) broadcast with a zero batch stride. Its backward rule is two more gemms with the
 * flags flipped. `matmul` and `linear` are built on it.
 */

import type { MatmulParams } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { gemmPrecision, type Precision } from "../autocast.ts";
import { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { reshape } from "./layout.ts";
import { sum } from "./reduce.ts";

export interface GemmOptions {
  /** Use a's last two dims transposed. */
  transA?: boolean;
  /** Use b's last two dims transposed. */
  transB?: boolean;
}

interface Operand {
  batch: number;
  rows: number;
  cols: number;
}

function operand(t: Tensor, name: string, op: string): Operand {
  if (t.rank !== 2 && t.rank !== 3) {
    throw new Error(`${op}: ${name} must be 2-D or 3-D, got shape [${t.shape}]`);
  }
  if (t.dtype !== "f32") throw new Error(`${op}: ${name} must be f32, got ${t.dtype}`);
  const [rows, cols] = t.shape.slice(-2);
  return { batch: t.rank === 3 ? t.shape[0] : 1, rows, cols };
}

/** The forward product without a graph node; backward rules call it too. */
function gemmRaw(
  a: Tensor,
  b: Tensor,
  transA: boolean,
  transB: boolean,
  precision: Precision,
): Tensor {
  const oa = operand(a, "a", "matmul");
  const ob = operand(b, "b", "matmul");
  if (a.backend !== b.backend) throw new Error("matmul: tensors live on different backends");
  const m = transA ? oa.cols : oa.rows;
  const k = transA ? oa.rows : oa.cols;
  const kb = transB ? ob.cols : ob.rows;
  const n = transB ? ob.rows : ob.cols;
  if (k !== kb) {
    throw new Error(
      `matmul: inner dimensions differ: [${a.shape}]${transA ? "^T" : ""} x ` +
        `[${b.shape}]${transB ? "^T" : ""} (${k} vs ${kb})`,
    );
  }
  if (oa.batch !== ob.batch && oa.batch !== 1 && ob.batch !== 1) {
    throw new Error(`matmul: batch sizes ${oa.batch} and ${ob.batch} cannot be broadcast`);
  }
  const batch = Math.max(oa.batch, ob.batch);
  const outShape = a.rank === 3 || b.rank === 3 ? [batch, m, n] : [m, n];
  // A batched, untransposed a times one shared b is one tall 2-D product.
  const fold = ob.batch === 1 && oa.batch > 1 && !transA;
  const p: MatmulParams = fold
    ? {
      batch: 1,
      m: batch * m,
      n,
      k,
      transA,
      transB,
      aBatchStride: 0,
      bBatchStride: 0,
      precision,
    }
    : {
      batch,
      m,
      n,
      k,
      transA,
      transB,
      aBatchStride: oa.batch === 1 ? 0 : m * k,
      bBatchStride: ob.batch === 1 ? 0 : k * n,
      precision,
    };
  return Tensor.fromStorage(a.backend, a.backend.matmul(a.storage, b.storage, p), outShape);
}

/** Sums a batched gradient over the batch an operand was broadcast along. */
function reduceBatch(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join() === shape.join()) return g;
  return reshape(sum(g, 0), shape);
}

/** Gradient of a: dL/d op(a) = G op(b)^T, transposed back when a was used transposed. */
function gradA(a: Tensor, b: Tensor, g: Tensor, transA: boolean, transB: boolean, at: Precision) {
  const ga = transA ? gemmRaw(b, g, transB, true, at) : gemmRaw(g, b, false, !transB, at);
  return reduceBatch(ga, a.shape);
}

/** Gradient of b: dL/d op(b) = op(a)^T G; a shared 2-D b takes one tall product. */
function gradB(a: Tensor, b: Tensor, g: Tensor, transA: boolean, transB: boolean, at: Precision) {
  if (b.rank === 2 && a.rank === 3 && !transA) {
    const rows = a.shape[0] * a.shape[1];
    const a2 = reshape(a, [rows, a.shape[2]]);
    const g2 = reshape(g, [rows, g.shape[2]]);
    return transB ? gemmRaw(g2, a2, true, false, at) : gemmRaw(a2, g2, true, false, at);
  }
  const gb = transB ? gemmRaw(g, a, true, transA, at) : gemmRaw(a, g, !transA, false, at);
  return reduceBatch(gb, b.shape);
}

/** op(a) x op(b) for 2-D or batched 3-D operands; a 2-D operand or a batch of 1 broadcasts. */
export function gemm(a: Tensor, b: Tensor, options: GemmOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const at = gemmPrecision();
  const y = gemmRaw(a, b, transA, transB, at);
  return record(y, [a, b], "matmul", (g) => [
    a.requiresGrad ? gradA(a, b, g, transA, transB, at) : null,
    b.requiresGrad ? gradB(a, b, g, transA, transB, at) : null,
  ]);
}

/** a x b: [M,K] x [K,N], or batched [B,M,K] x [B,K,N] with either batch broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return gemm(a, b);
}

/**
 * PyTorch's nn.functional.linear: x [..., in] times w [out, in] transposed, plus bias [out].
 * The transpose is a kernel flag, so the weight is read in place.
 */
export function linear(x: Tensor, w: Tensor, bias: Tensor | null): Tensor {
  if (w.rank !== 2) throw new Error(`linear: weight must be [out, in], got [${w.shape}]`);
  const [out, inFeatures] = w.shape;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inFeatures) {
    throw new Error(`linear: input [${x.shape}] does not end in ${inFeatures} features`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== out)) {
    throw new Error(`linear: bias must be [${out}], got [${bias.shape}]`);
  }
  const rows = reshape(x, [-1, inFeatures]);
  let y = gemm(rows, w, { transB: true });
  if (bias) y = add(y, bias);
  return reshape(y, [...x.shape.slice(0, -1), out]);
}
