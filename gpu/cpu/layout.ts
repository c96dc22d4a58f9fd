/** CPU twins of gpu/shaders/layout.wgsl. */

import type { Storage, StridedView } from "../backend.ts";
import { contiguousStrides, sizeOf } from "../backend.ts";
import { CpuStorage, wrap } from "./storage.ts";
import { forEachStrided } from "./strided.ts";

export function gather(x: Storage, view: StridedView): Storage {
  const src = (x as CpuStorage).data;
  const out = src instanceof Int32Array
    ? new Int32Array(sizeOf(view.shape))
    : new Float32Array(sizeOf(view.shape));
  let i = 0;
  forEachStrided(view.shape, [view], (o) => {
    out[i++] = src[o];
  });
  return wrap(out);
}

export function copyInto(src: Storage, dst: Storage, dstView: StridedView): void {
  const s = (src as CpuStorage).data;
  const d = (dst as CpuStorage).data;
  const dense = { shape: dstView.shape, strides: contiguousStrides(dstView.shape), offset: 0 };
  forEachStrided(dstView.shape, [dense, dstView], (i, o) => {
    d[o] = s[i];
  });
}
