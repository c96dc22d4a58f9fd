/** Validation and parameter slots shared by the convolution drivers (WASM and BLAS). */

import type { Conv2dParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { windowOutput } from "../../window-params.ts";

/** Validates the geometry and storages, writes the CV_* and CONV_* slots. */
export function setup(
  rt: WasmRuntime,
  q: Conv2dParams,
  x: { name: string; s: WasmStorage; len: number },
  w: WasmStorage,
  y: { name: string; s: WasmStorage; len: number },
): Int32Array {
  const g = q.groups;
  if (!(g >= 1) || q.c % g || q.o % g) {
    throw new Error(`conv2d: ${q.c} in and ${q.o} out channels do not split into ${g} groups`);
  }
  const oh = windowOutput(q.h, q.kh, q.strideH, q.padH, q.dilationH);
  const ow = windowOutput(q.w, q.kw, q.strideW, q.padW, q.dilationW);
  if (oh !== q.oh || ow !== q.ow) {
    throw new Error(`conv2d: output ${q.oh}x${q.ow} given, the geometry makes ${oh}x${ow}`);
  }
  const wLen = q.o * (q.c / g) * q.kh * q.kw;
  for (const [name, s, len] of [[x.name, x.s, x.len], ["weight", w, wLen], [y.name, y.s, y.len]]) {
    const st = s as WasmStorage;
    if (st.length !== len) {
      throw new Error(`conv2d: ${name} has ${st.length} elements, needs ${len}`);
    }
    if (st.dtype !== "f32") throw new Error(`conv2d: ${name} must be f32, got ${st.dtype}`);
  }
  return writeGeometry(rt.begin(), q);
}

/** Writes one group's geometry (CV_*) and the conv task slots every pass reads. */
export function writeGeometry(p: Int32Array, q: Conv2dParams): Int32Array {
  const g = q.groups;
  p[S.CV_C] = q.c / g;
  p[S.CV_H] = q.h;
  p[S.CV_W] = q.w;
  p[S.CV_KH] = q.kh;
  p[S.CV_KW] = q.kw;
  p[S.CV_SH] = q.strideH;
  p[S.CV_SW] = q.strideW;
  p[S.CV_PH] = q.padH;
  p[S.CV_PW] = q.padW;
  p[S.CV_DH] = q.dilationH;
  p[S.CV_DW] = q.dilationW;
  p[S.CV_OH] = q.oh;
  p[S.CV_OW] = q.ow;
  p[S.CV_IMG] = q.c * q.h * q.w;
  p[S.CONV_N] = q.n;
  p[S.CONV_GROUPS] = g;
  p[S.CONV_OG] = q.o / g;
  return p;
}

/** Element counts of input and output, and the multiply-adds of one pass. */
export const sizes = (q: Conv2dParams) => ({
  x: q.n * q.c * q.h * q.w,
  y: q.n * q.o * q.oh * q.ow,
  flops: q.n * q.o * q.oh * q.ow * (q.c / q.groups) * q.kh * q.kw,
});
