/** CPU twins of gpu/shaders/layout.wgsl. */

import type { HostStorage, StridedView } from "../types.ts";
import { contiguousStrides, sizeOf } from "../types.ts";
import { wrap } from "./storage.ts";
import { forEachStrided } from "./strided.ts";

export function gather(x: HostStorage, view: StridedView): HostStorage {
  const src = x.data;
  const out = src instanceof Int32Array
    ? new Int32Array(sizeOf(view.shape))
    : new Float32Array(sizeOf(view.shape));
  let i = 0;
  forEachStrided(view.shape, [view], (o) => {
    out[i++] = src[o];
  });
  return wrap(out);
}

export function copyInto(src: HostStorage, dst: HostStorage, dstView: StridedView): void {
  const s = src.data;
  const d = dst.data;
  const dense = { shape: dstView.shape, strides: contiguousStrides(dstView.shape), offset: 0 };
  forEachStrided(dstView.shape, [dense, dstView], (i, o) => {
    d[o] = s[i];
  });
}
