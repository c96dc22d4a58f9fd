/** Driver of the reductions (kernels/reduce.ts). */

import type { ReduceOp } from "../../types.ts";
import { sizeOf } from "../../types.ts";
import { reducePlan } from "../../reduce-plan.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { PARALLEL_MIN_ELEMENTS } from "./elementwise.ts";

const OPS: Record<ReduceOp, number> = { sum: S.R_SUM, max: S.R_MAX, min: S.R_MIN };

/** Drops size-1 dims and merges neighbours that are contiguous with each other. */
function collapse(shape: number[], strides: number[]): { shape: number[]; strides: number[] } {
  const out = { shape: [] as number[], strides: [] as number[] };
  shape.forEach((d, i) => {
    if (d === 1) return;
    const last = out.shape.length - 1;
    if (last >= 0 && out.strides[last] === strides[i] * d) {
      out.shape[last] *= d;
      out.strides[last] = strides[i];
    } else {
      out.shape.push(d);
      out.strides.push(strides[i]);
    }
  });
  return out;
}

export function reduce(
  rt: WasmRuntime,
  op: ReduceOp,
  x: WasmStorage,
  shape: readonly number[],
  axes: readonly number[],
): WasmStorage {
  if (x.dtype !== "f32") throw new Error(`reduce ${op}: expected f32 storage, got ${x.dtype}`);
  if (x.length !== sizeOf(shape)) {
    throw new Error(`reduce ${op}: storage of ${x.length} elements is not [${shape}]`);
  }
  const plan = reducePlan(shape, axes);
  const outputs = sizeOf(plan.keptShape);
  const out = rt.alloc(outputs, "f32");
  if (outputs === 0) return out;
  if (sizeOf(plan.reducedShape) === 0) {
    out.data.fill(op === "sum" ? 0 : op === "max" ? -Infinity : Infinity);
    return out;
  }
  const kept = collapse(plan.keptShape, plan.keptStrides);
  const reduced = collapse(plan.reducedShape, plan.reducedStrides);
  if (kept.shape.length > S.MAX_RANK || reduced.shape.length > S.MAX_RANK) {
    throw new Error(`reduce ${op}: [${shape}] over [${axes}] needs more than ${S.MAX_RANK} dims`);
  }
  const p = rt.begin();
  p[S.EW_OP] = OPS[op];
  p[S.EW_A] = x.ptr;
  p[S.EW_OUT] = out.ptr;
  p[S.EW_RANK] = kept.shape.length;
  p.set(kept.shape, S.EW_SHAPE);
  p.set(kept.strides, S.EW_ASTR);
  p[S.RD_RANK] = reduced.shape.length;
  p.set(reduced.shape, S.RD_SHAPE);
  p.set(reduced.strides, S.RD_STR);
  rt.run("reduce_task", x.length >= PARALLEL_MIN_ELEMENTS && outputs >= rt.threads);
  return out;
}
