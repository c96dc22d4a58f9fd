/** CPU twin of gpu/shaders/reduce.wgsl. */

import type { HostStorage, ReduceOp } from "../types.ts";
import { sizeOf } from "../types.ts";
import { f32, wrap } from "./storage.ts";
import { forEachStrided } from "./strided.ts";
import { reducePlan } from "../reduce-plan.ts";

export function reduce(
  op: ReduceOp,
  x: HostStorage,
  shape: readonly number[],
  axes: readonly number[],
): HostStorage {
  const src = f32(x);
  const plan = reducePlan(shape, axes);
  const out = new Float32Array(sizeOf(plan.keptShape));
  const init = op === "sum" ? 0 : op === "max" ? -Infinity : Infinity;
  const reducedView = { shape: plan.reducedShape, strides: plan.reducedStrides, offset: 0 };
  let i = 0;
  forEachStrided(
    plan.keptShape,
    [{ shape: plan.keptShape, strides: plan.keptStrides, offset: 0 }],
    (base) => {
      let acc = init;
      forEachStrided(plan.reducedShape, [{ ...reducedView, offset: base }], (o) => {
        const v = src[o];
        acc = op === "sum" ? acc + v : op === "max" ? (v > acc ? v : acc) : (v < acc ? v : acc);
      });
      out[i++] = acc;
    },
  );
  return wrap(out);
}
