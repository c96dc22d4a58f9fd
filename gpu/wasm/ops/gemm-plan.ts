/**
 * Cache blocking and work splitting of the GEMM kernels, decided on the host so it can be
 * tuned and tested without rebuilding the kernels. A KC x NC packed B panel (512 KiB) and an
 * MC x KC A block (128 KiB) share the 1 MiB L2 of this machine's cores, a B sliver (16 KiB)
 * sits in L1. 512/64/256 gave 26.3-27.0 GFLOP/s per core at 1024^3 against 24.9-26.0 for
 * 256/128/512, 384/64/384 and 512/64/512 (README).
 */

import type { WasmRuntime } from "../runtime.ts";
import { G_K, G_KC, G_MC, G_NC } from "../kernels/slots.ts";

export const KC = 512;
export const MC = 64;
export const NC = 256;
/** Below this many multiply-adds a kernel runs on the main thread alone. */
export const PARALLEL_MIN_FLOPS = 1 << 18;

/** `v` rounded up to a multiple of `to` (tile and chunk sizes). */
export const round = (v: number, to: number) => Math.ceil(v / to) * to;

/**
 * Tile (rows, cols) of the parallel work items. Tiles span all rows first: every B panel is then
 * packed once (repacking it per 128-row block cost 7% at 1024^3: its source comes from L3), and
 * columns split until each thread has about four items to balance over.
 */
export function tilePlan(
  batch: number,
  m: number,
  n: number,
  threads: number,
): { tm: number; tn: number } {
  let tm = round(m, 4);
  let tn = Math.min(round(n, 8), NC);
  const items = () => batch * Math.ceil(m / tm) * Math.ceil(n / tn);
  const want = threads > 1 ? 4 * threads : 1;
  while (items() < want && tn > 64) tn = round(tn / 2, 8);
  while (items() < want && tm > 16) tm = round(tm / 2, 4);
  return { tm, tn };
}

/** Writes the blocking slots; returns the packing workspace each thread needs, in bytes. */
export function setBlocking(rt: WasmRuntime, p: Int32Array, k: number): number {
  p[G_K] = k;
  p[G_KC] = KC;
  p[G_MC] = MC;
  p[G_NC] = NC;
  return rt.kernels.gemm_ws_bytes(KC, MC, NC);
}
