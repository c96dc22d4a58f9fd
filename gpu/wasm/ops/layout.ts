/** Drivers of the strided copies (kernels/layout.ts). */

import type { StridedView } from "../../types.ts";
import { sizeOf } from "../../types.ts";
import * as reference from "../../cpu/layout.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import { EW_A, EW_B } from "../kernels/slots.ts";
import { checkView, isInjective, writeViews } from "./views.ts";
import { PARALLEL_MIN_ELEMENTS } from "./elementwise.ts";

export function gather(rt: WasmRuntime, x: WasmStorage, view: StridedView): WasmStorage {
  checkView("gather", view, x.length);
  const n = sizeOf(view.shape);
  const out = rt.alloc(n, x.dtype);
  if (n === 0) return out;
  const p = rt.begin();
  p[EW_A] = x.ptr;
  p[EW_B] = out.ptr;
  writeViews(p, view.shape, [view]);
  rt.run("gather_task", n >= PARALLEL_MIN_ELEMENTS);
  return out;
}

export function copyInto(
  rt: WasmRuntime,
  src: WasmStorage,
  dst: WasmStorage,
  dstView: StridedView,
): void {
  checkView("copyInto", dstView, dst.length);
  const n = sizeOf(dstView.shape);
  if (src.length < n) {
    throw new Error(`copyInto: source of ${src.length} elements for a view of ${n}`);
  }
  if (n === 0) return;
  if (src.dtype !== dst.dtype) {
    // Mixed dtypes convert value by value; the reference twin does exactly that.
    reference.copyInto(src, dst, dstView);
    return;
  }
  const p = rt.begin();
  p[EW_A] = dst.ptr;
  p[EW_B] = src.ptr;
  writeViews(p, dstView.shape, [dstView]);
  rt.run("scatter_task", n >= PARALLEL_MIN_ELEMENTS && isInjective(dstView));
}
