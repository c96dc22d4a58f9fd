/** The `Window` record of prelude.wgsl's conv-window snippet, nested by conv and depthwise. */

import type { Conv2dParams } from "../types.ts";
import type { ParamValue } from "./runtime.ts";

/** c, h, w, oh, ow, kh, kw, kh * kw, strides, padding, dilation, then the strides' reciprocals. */
export function windowParams(p: Conv2dParams): ParamValue[] {
  return [
    ...[p.c, p.h, p.w, p.oh, p.ow, p.kh, p.kw, p.kh * p.kw].map((v) => ({ i32: v })),
    ...[p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW].map((v) => ({ i32: v })),
    { f32: 1 / p.strideH },
    { f32: 1 / p.strideW },
  ];
}
