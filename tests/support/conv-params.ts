/** Convolution geometry for the kernel tests, written the way PyTorch's layers take it. */

import type { Conv2dParams } from "../../gpu/backend.ts";

/** PyTorch's geometry from (n, c, h, w, o, [kh, kw], [stride, padding, dilation, groups]). */
export function convParams(
  n: number,
  c: number,
  h: number,
  w: number,
  o: number,
  [kh, kw]: number[],
  [s, p, d, groups]: number[],
): Conv2dParams {
  const out = (size: number, k: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
  const sym = { strideH: s, strideW: s, padH: p, padW: p, dilationH: d, dilationW: d };
  return { n, c, h, w, o, kh, kw, ...sym, groups, oh: out(h, kh), ow: out(w, kw) };
}
