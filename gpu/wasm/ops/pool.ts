/** Drivers of the pooling kernels (kernels/pool.ts). */

import type { Pool2dParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { PARALLEL_MIN_ELEMENTS } from "./elementwise.ts";

function begin(rt: WasmRuntime, q: Pool2dParams, input: WasmStorage, inLen: number, op: string) {
  if (input.length !== inLen) {
    throw new Error(`${op}: input of ${input.length} elements, the geometry needs ${inLen}`);
  }
  if (input.dtype !== "f32") throw new Error(`${op}: expected f32 storage, got ${input.dtype}`);
  const p = rt.begin();
  p[S.PL_PLANES] = q.n * q.c;
  p[S.PL_H] = q.h;
  p[S.PL_W] = q.w;
  p[S.PL_KH] = q.kh;
  p[S.PL_KW] = q.kw;
  p[S.PL_SH] = q.strideH;
  p[S.PL_SW] = q.strideW;
  p[S.PL_PH] = q.padH;
  p[S.PL_PW] = q.padW;
  p[S.PL_OH] = q.oh;
  p[S.PL_OW] = q.ow;
  p[S.PL_INCLUDE_PAD] = q.countIncludePad ? 1 : 0;
  p[S.PL_IN] = input.ptr;
  return p;
}

const inSize = (q: Pool2dParams) => q.n * q.c * q.h * q.w;
const outSize = (q: Pool2dParams) => q.n * q.c * q.oh * q.ow;
const parallel = (rt: WasmRuntime, q: Pool2dParams) =>
  inSize(q) >= PARALLEL_MIN_ELEMENTS && q.n * q.c >= rt.threads;

/**
 * Runs one pooling task from `input` (checked to hold `inLen` floats) into a fresh f32 result
 * of `outLen`; `argmax` is the max pool's index plane (written forward, read backward).
 */
function pool(
  rt: WasmRuntime,
  q: Pool2dParams,
  task: string,
  op: string,
  input: WasmStorage,
  [inLen, outLen]: [number, number],
  argmax?: WasmStorage,
): WasmStorage {
  const p = begin(rt, q, input, inLen, op);
  const out = rt.alloc(outLen, "f32");
  p[S.PL_OUT] = out.ptr;
  if (argmax) p[S.PL_ARG] = argmax.ptr;
  rt.run(task, parallel(rt, q));
  return out;
}

export function maxPool2d(rt: WasmRuntime, x: WasmStorage, q: Pool2dParams) {
  const argmax = rt.alloc(outSize(q), "i32");
  const y = pool(rt, q, "maxpool_task", "maxPool2d", x, [inSize(q), outSize(q)], argmax);
  return { y, argmax };
}

export function maxPool2dBackward(
  rt: WasmRuntime,
  gy: WasmStorage,
  argmax: WasmStorage,
  q: Pool2dParams,
): WasmStorage {
  if (argmax.length !== outSize(q) || argmax.dtype !== "i32") {
    throw new Error(`maxPool2dBackward: argmax must be i32 of ${outSize(q)} elements`);
  }
  const sizes: [number, number] = [outSize(q), inSize(q)];
  return pool(rt, q, "maxpool_bwd_task", "maxPool2dBackward", gy, sizes, argmax);
}

export function avgPool2d(rt: WasmRuntime, x: WasmStorage, q: Pool2dParams): WasmStorage {
  return pool(rt, q, "avgpool_task", "avgPool2d", x, [inSize(q), outSize(q)]);
}

export function avgPool2dBackward(rt: WasmRuntime, gy: WasmStorage, q: Pool2dParams): WasmStorage {
  return pool(rt, q, "avgpool_bwd_task", "avgPool2dBackward", gy, [outSize(q), inSize(q)]);
}
