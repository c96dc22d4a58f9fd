/**
 * Drivers of the convolution kernels (kernels/conv.ts): forward and weight gradient as
 * implicit GEMMs, input gradient as GEMM + col2im, direct kernels when a group has a single
 * input channel (depthwise). Ungrouped convolutions go to conv-blas.ts when a BLAS was found.
 */

import type { Conv2dParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { KC, NC, PARALLEL_MIN_FLOPS, round, setBlocking, tilePlan } from "./gemm-plan.ts";
import { reduce } from "./reduce.ts";
import { setup, sizes } from "./conv-setup.ts";
import { blasConv2d, blasConv2dGradInput, blasConv2dGradWeight, convOnBlas } from "./conv-blas.ts";

/** Positions per forward item: whole NC panels unless threads would go idle. */
function positionTile(groups: number, positions: number, threads: number): number {
  let tn = Math.min(round(positions, 8), NC);
  while (threads > 1 && groups * Math.ceil(positions / tn) < 4 * threads && tn > 64) {
    tn = round(tn / 2, 8);
  }
  return tn;
}

/** Bytes of im2col columns the grad-input pass may hold per thread (L2-sized). */
const GCOL_BYTES = 2 << 20;

/** The slots of each GEMM operand, in the order {@link operand} takes their values. */
const OPERAND_SLOTS = {
  A: [S.A_KIND, S.A_PTR, S.A_RS, S.A_CS, S.A_SPLIT, S.A_IMG],
  B: [S.B_KIND, S.B_PTR, S.B_RS, S.B_CS, S.B_SPLIT, S.B_IMG],
};

/**
 * Describes GEMM operand A or B: its kind and storage, then for a strided one its row and column
 * strides and, split by image, the images' split and stride (slots not given are left alone).
 */
function operand(p: Int32Array, side: "A" | "B", ...values: number[]): void {
  values.forEach((value, i) => p[OPERAND_SLOTS[side][i]] = value);
}

export function conv2d(rt: WasmRuntime, x: WasmStorage, w: WasmStorage, q: Conv2dParams) {
  if (convOnBlas(rt, q)) return blasConv2d(rt, x, w, q);
  const n = sizes(q);
  const y = rt.alloc(n.y, "f32");
  const p = setup(rt, q, { name: "input", s: x, len: n.x }, w, { name: "output", s: y, len: n.y });
  const positions = q.oh * q.ow;
  if (n.y === 0) return y;
  if (q.c === q.groups) {
    p[S.CONV_X] = x.ptr;
    p[S.CONV_W] = w.ptr;
    p[S.CONV_Y] = y.ptr;
    rt.workspace(round(positions, 4) * 4);
    rt.run("dw_fwd_task", n.flops >= PARALLEL_MIN_FLOPS);
    return y;
  }
  const ck = (q.c / q.groups) * q.kh * q.kw;
  operand(p, "A", S.KIND_STRIDED, w.ptr, ck, 1);
  operand(p, "B", S.KIND_IM2COL, x.ptr);
  p[S.CONV_Y] = y.ptr;
  const tn = positionTile(q.groups, q.n * positions, rt.threads);
  p[S.CONV_TILE] = tn;
  rt.workspace(setBlocking(rt, p, ck) + (q.o / q.groups) * tn * 4);
  rt.run("conv_fwd_task", n.flops >= PARALLEL_MIN_FLOPS);
  return y;
}

export function conv2dGradInput(rt: WasmRuntime, gy: WasmStorage, w: WasmStorage, q: Conv2dParams) {
  if (convOnBlas(rt, q)) return blasConv2dGradInput(rt, gy, w, q);
  const n = sizes(q);
  const gx = rt.alloc(n.x, "f32");
  const p = setup(rt, q, { name: "input gradient", s: gx, len: n.x }, w, {
    name: "output gradient",
    s: gy,
    len: n.y,
  });
  if (n.x === 0) return gx;
  p[S.CONV_W] = w.ptr;
  p[S.CONV_Y] = gy.ptr;
  p[S.CONV_OUT] = gx.ptr;
  const positions = q.oh * q.ow;
  if (q.c === q.groups) {
    rt.workspace(round(positions, 4) * 4);
    rt.run("dw_gi_task", n.flops >= PARALLEL_MIN_FLOPS);
    return gx;
  }
  const cg = q.c / q.groups;
  const khw = q.kh * q.kw;
  const ck = cg * khw;
  operand(p, "A", S.KIND_STRIDED, w.ptr, 1, ck);
  operand(p, "B", S.KIND_STRIDED, gy.ptr, positions, 1, positions, q.o * positions);
  // Items: blocks of images first, then of channels, until every thread has about four. An
  // image block keeps at least NC positions: on 2x2 / 4x4 maps, blocks of few images made
  // GEMMs 16-64 columns wide that repacked all of W per item (12 GFLOP/s at 512ch 2x2).
  const want = rt.threads > 1 ? 4 * rt.threads : 1;
  const iBlocks = Math.max(
    1,
    Math.min(q.n, Math.ceil(want / q.groups), Math.floor((q.n * positions) / NC)),
  );
  const cBlocks = Math.min(cg, Math.ceil(want / (q.groups * iBlocks)));
  const cb = Math.min(
    Math.ceil(cg / cBlocks),
    Math.max(1, Math.floor(GCOL_BYTES / (khw * NC * 4))),
  );
  p[S.CONV_TILE] = cb;
  p[S.CONV_TILE2] = Math.ceil(q.n / iBlocks);
  rt.workspace(setBlocking(rt, p, q.o / q.groups) + cb * khw * NC * 4);
  rt.run("conv_gi_task", n.flops >= PARALLEL_MIN_FLOPS);
  return gx;
}

export function conv2dGradWeight(
  rt: WasmRuntime,
  x: WasmStorage,
  gy: WasmStorage,
  q: Conv2dParams,
) {
  if (convOnBlas(rt, q)) return blasConv2dGradWeight(rt, x, gy, q);
  const n = sizes(q);
  const cg = q.c / q.groups;
  const og = q.o / q.groups;
  const ck = cg * q.kh * q.kw;
  const gw = rt.alloc(q.o * ck, "f32");
  const p = setup(rt, q, { name: "input", s: x, len: n.x }, gw, {
    name: "output gradient",
    s: gy,
    len: n.y,
  });
  const positions = q.oh * q.ow;
  if (gw.length === 0) return gw;
  if (n.y === 0) {
    gw.data.fill(0);
    return gw;
  }
  p[S.CONV_X] = x.ptr;
  p[S.CONV_Y] = gy.ptr;
  p[S.CONV_OUT] = gw.ptr;
  if (q.c === q.groups) {
    rt.workspace(round(positions, 4) * 4);
    rt.run("dw_gw_task", n.flops >= PARALLEL_MIN_FLOPS);
    return gw;
  }
  operand(p, "A", S.KIND_STRIDED, gy.ptr, positions, 1, positions, q.o * positions);
  operand(p, "B", S.KIND_IM2COL_T, x.ptr);
  const { tm, tn } = tilePlan(q.groups, og, ck, rt.threads);
  p[S.CONV_TILE] = tn;
  p[S.CONV_TILE2] = tm;
  // Too few output tiles for the threads: split the position sum into slabs (>= 2 KC each),
  // each summed into its own partial gW, and add the partials up afterwards.
  const tiles = q.groups * Math.ceil(og / tm) * Math.ceil(ck / tn);
  const total = q.n * positions;
  const parallel = n.flops >= PARALLEL_MIN_FLOPS && rt.threads > 1;
  const splits = parallel
    ? Math.max(1, Math.min(Math.ceil((4 * rt.threads) / tiles), Math.floor(total / (2 * KC))))
    : 1;
  p[S.CONV_KSPLIT] = splits;
  rt.workspace(setBlocking(rt, p, total));
  if (splits === 1) {
    rt.run("conv_gw_task", parallel);
    return gw;
  }
  const partials = rt.alloc(splits * gw.length, "f32");
  p[S.CONV_OUT] = partials.ptr;
  rt.run("conv_gw_task", true);
  const sum = reduce(rt, "sum", partials, [splits, gw.length], [0]);
  rt.free(partials);
  rt.free(gw);
  return sum;
}
