/**
 * Cache-blocked GEMM, C (+)= A x B, in the BLIS shape: B panels (KC x NC) and A blocks
 * (MC x KC) are packed into MR/NR slivers, and a 4 x 8 register-blocked micro-kernel runs over
 * them. Deno compiles WebAssembly with explicit bounds checks (no trap handler), so every load
 * costs a compare and branch: the micro-kernel loads one vector of A per k and splats its lanes
 * with shuffles (3 loads per 8 FMAs), which measured fastest of the shapes tried (README).
 */

import { COUNTER, G_K, G_KC, G_MC, G_NC, TASK } from "./slots";
import { claim, imax, imin, pi, workspace } from "./common";
import { aSliver, bSliver, packA, packB } from "./pack";

/**
 * C[4 x 8] (+)= A sliver [kc][4] x B sliver [kc][8]; ldc in bytes. The two store paths (and
 * the empty-k guard) keep the function above V8's 500-byte inlining limit: inlined into the
 * block loop it ran 13% slower (register pressure), measured against --no-wasm-inlining; extra
 * parameters live across the k loop cost as much, so ragged tiles are handled by the caller.
 */
function micro(kc: i32, pa: usize, pb: usize, c: usize, ldc: usize, acc: bool): void {
  if (kc <= 0) {
    if (!acc) {
      for (let r: usize = 0; r < 4; r++) {
        v128.store(c + r * ldc, f32x4.splat(0));
        v128.store(c + r * ldc, f32x4.splat(0), 16);
      }
    }
    return;
  }
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const a = v128.load(pa);
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let s = i32x4.shuffle(a, a, 0, 0, 0, 0);
    c00 = f32x4.relaxed_madd(s, b0, c00);
    c01 = f32x4.relaxed_madd(s, b1, c01);
    s = i32x4.shuffle(a, a, 1, 1, 1, 1);
    c10 = f32x4.relaxed_madd(s, b0, c10);
    c11 = f32x4.relaxed_madd(s, b1, c11);
    s = i32x4.shuffle(a, a, 2, 2, 2, 2);
    c20 = f32x4.relaxed_madd(s, b0, c20);
    c21 = f32x4.relaxed_madd(s, b1, c21);
    s = i32x4.shuffle(a, a, 3, 3, 3, 3);
    c30 = f32x4.relaxed_madd(s, b0, c30);
    c31 = f32x4.relaxed_madd(s, b1, c31);
    pa += 16;
    pb += 32;
  }
  const r1 = c + ldc;
  const r2 = r1 + ldc;
  const r3 = r2 + ldc;
  if (acc) {
    v128.store(c, f32x4.add(c00, v128.load(c)));
    v128.store(c, f32x4.add(c01, v128.load(c, 16)), 16);
    v128.store(r1, f32x4.add(c10, v128.load(r1)));
    v128.store(r1, f32x4.add(c11, v128.load(r1, 16)), 16);
    v128.store(r2, f32x4.add(c20, v128.load(r2)));
    v128.store(r2, f32x4.add(c21, v128.load(r2, 16)), 16);
    v128.store(r3, f32x4.add(c30, v128.load(r3)));
    v128.store(r3, f32x4.add(c31, v128.load(r3, 16)), 16);
  } else {
    v128.store(c, c00);
    v128.store(c, c01, 16);
    v128.store(r1, c10);
    v128.store(r1, c11, 16);
    v128.store(r2, c20);
    v128.store(r2, c21, 16);
    v128.store(r3, c30);
    v128.store(r3, c31, 16);
  }
}

/** A ragged tile: the micro-kernel writes the 4 x 8 `edge` scratch, the valid part is copied. */
function microEdge(
  kc: i32,
  pa: usize,
  pb: usize,
  c: usize,
  ldc: usize,
  acc: bool,
  rows: i32,
  cols: i32,
  edge: usize,
): void {
  micro(kc, pa, pb, edge, 32, false);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < cols; t++) {
      const at = c + <usize> r * ldc + (<usize> t << 2);
      const v = load<f32>(edge + (<usize> (r * 8 + t) << 2));
      store<f32>(at, acc ? load<f32>(at) + v : v);
    }
  }
}

/** Runs the micro-kernel over a packed A block and B panel. */
function macro(
  mc: i32,
  nc: i32,
  kc: i32,
  bufA: usize,
  bufB: usize,
  c: usize,
  ldc: i32,
  acc: bool,
  edge: usize,
): void {
  const ldcb = <usize> ldc << 2;
  for (let j = 0; j < nc; j += 8) {
    const pb = bufB + <usize> (j >> 3) * bSliver(kc);
    const cols = imin(8, nc - j);
    for (let i = 0; i < mc; i += 4) {
      const pa = bufA + <usize> (i >> 2) * aSliver(kc);
      const cp = c + <usize> i * ldcb + (<usize> j << 2);
      const rows = imin(4, mc - i);
      if (rows == 4 && cols == 8) micro(kc, pa, pb, cp, ldcb, acc);
      else microEdge(kc, pa, pb, cp, ldcb, acc, rows, cols, edge);
    }
  }
}

/** Bytes of per-thread workspace gemm needs for the given blocking. */
export function gemm_ws_bytes(kc: i32, mc: i32, nc: i32): i32 {
  const ncr = (nc + 7) & ~7;
  const mcr = (mc + 3) & ~3;
  return <i32> ((<usize> (ncr >> 3) * bSliver(kc) + <usize> (mcr >> 2) * aSliver(kc)) +
    (<usize> (tmpFloats(kc, ncr) + 32) << 2));
}

/** Row buffer of the im2col packers: one row of a B panel, or eight rows of kc. */
function tmpFloats(kc: i32, ncr: i32): i32 {
  return imax(ncr, 8 * (kc + 4));
}

/**
 * C[m0.., n0..] (+)= A[m0.., k0..] x B[k0.., n0..] over the slab [k0, k0 + kLen) of K, blocked
 * for the caches; kLen < 0 runs to the end of K (split-K work items pass their slab).
 * `aPacked` (when not 0) is A already packed by pack_a_task for all its rows: tiles then skip
 * packing their A blocks.
 */
export function gemm(
  p: usize,
  aOff: i32,
  bOff: i32,
  m0: i32,
  mLen: i32,
  n0: i32,
  nLen: i32,
  c: usize,
  ldc: i32,
  accumulate: bool,
  ws: usize,
  aPacked: usize = 0,
  k0: i32 = 0,
  kLen: i32 = -1,
): void {
  if (kLen < 0) kLen = pi(p, G_K) - k0;
  const kcMax = pi(p, G_KC);
  const mcMax = pi(p, G_MC);
  const ncMax = pi(p, G_NC);
  const ncr = (ncMax + 7) & ~7;
  const mcr = (mcMax + 3) & ~3;
  const bufB = ws;
  const bufA = bufB + <usize> (ncr >> 3) * bSliver(kcMax);
  const tmp = bufA + <usize> (mcr >> 2) * aSliver(kcMax);
  const edge = tmp + (<usize> tmpFloats(kcMax, ncr) << 2);
  const ldcb = <usize> ldc << 2;
  for (let jc = 0; jc < nLen; jc += ncMax) {
    const nc = imin(ncMax, nLen - jc);
    for (let pc = 0; pc < kLen; pc += kcMax) {
      const kc = imin(kcMax, kLen - pc);
      const acc = accumulate || pc > 0;
      packB(p, bOff, k0 + pc, kc, n0 + jc, nc, bufB, tmp);
      for (let ic = 0; ic < mLen; ic += mcMax) {
        const mc = imin(mcMax, mLen - ic);
        let a = bufA;
        if (aPacked == 0) packA(p, aOff, m0 + ic, mc, k0 + pc, kc, bufA);
        else a = aPacked + packedBlockOffset(p, k0 + pc) + <usize> ((m0 + ic) >> 2) * aSliver(kc);
        macro(mc, nc, kc, a, bufB, c + <usize> ic * ldcb + (<usize> jc << 2), ldc, acc, edge);
      }
    }
  }
}

/** Rows of the matmul in progress, which the packed-A layout is sized by. */
function packedRows(p: usize): i32 {
  return pi(p, TASK + 1);
}

/** Bytes from one batch item's packed A to the block of K starting at k0 (a multiple of KC). */
function packedBlockOffset(p: usize, k0: i32): usize {
  return <usize> (k0 / pi(p, G_KC)) * <usize> ((packedRows(p) + 3) >> 2) * aSliver(pi(p, G_KC));
}

/** Bytes of one batch item's packed A: every (K block, 4-row sliver), slivers sized by kc. */
export function packed_a_bytes(m: i32, k: i32, kcMax: i32): usize {
  const slivers = <usize> ((m + 3) >> 2);
  const full = k / kcMax;
  const last = k - full * kcMax;
  return slivers * (<usize> full * aSliver(kcMax) + (last > 0 ? aSliver(last) : 0));
}

/**
 * Packs A once for all column tiles of a matmul (each tile would otherwise repack every A block
 * itself). Items are (batch, K block, MC-row block); task slots as matmul_task, TASK + 9 the
 * destination.
 */
export function pack_a_task(p: usize, _tid: i32, _nt: i32): void {
  const batch = pi(p, TASK);
  const m = pi(p, TASK + 1);
  const aBs = pi(p, TASK + 4);
  const dst = <usize> pi(p, TASK + 9);
  const k = pi(p, G_K);
  const kcMax = pi(p, G_KC);
  const mcMax = pi(p, G_MC);
  const kBlocks = (k + kcMax - 1) / kcMax;
  const mBlocks = (m + mcMax - 1) / mcMax;
  const perBatch = kBlocks * mBlocks;
  const batchBytes = packed_a_bytes(m, k, kcMax);
  for (;;) {
    const item = claim(p, COUNTER);
    if (item >= batch * perBatch) break;
    const b = item / perBatch;
    const r = item - b * perBatch;
    const kb = r / mBlocks;
    const m0 = (r - kb * mBlocks) * mcMax;
    const k0 = kb * kcMax;
    const kc = imin(kcMax, k - k0);
    const at = dst + <usize> b * batchBytes + packedBlockOffset(p, k0) +
      <usize> (m0 >> 2) * aSliver(kc);
    packA(p, b * aBs, m0, imin(mcMax, m - m0), k0, kc, at);
  }
}

// The tile claimTile() handed out last: its product (batch item) and first row and column.
// Module globals, so they are this thread's own (each thread runs its own instance).
export let TILE_OUTER = 0;
export let TILE_M0 = 0;
export let TILE_N0 = 0;

/**
 * Claims the next output tile of `outer` m x n products cut into tm x tn tiles, product by
 * product, row tile by row tile; false once all are taken.
 */
export function claimTile(p: usize, outer: i32, m: i32, n: i32, tm: i32, tn: i32): bool {
  const nTiles = (n + tn - 1) / tn;
  const perOuter = ((m + tm - 1) / tm) * nTiles;
  const item = claim(p, COUNTER);
  if (item >= outer * perOuter) return false;
  TILE_OUTER = item / perOuter;
  const r = item - TILE_OUTER * perOuter;
  const mt = r / nTiles;
  TILE_M0 = mt * tm;
  TILE_N0 = (r - mt * nTiles) * tn;
  return true;
}

/**
 * Batched matmul: items are (batch, row tile, column tile), claimed by the threads in turn.
 * Task slots: batch, M, N, C, A batch stride, B batch stride, tile rows, tile cols, accumulate,
 * packed A (0: each tile packs its own A blocks).
 */
export function matmul_task(p: usize, tid: i32, _nt: i32): void {
  const batch = pi(p, TASK);
  const m = pi(p, TASK + 1);
  const n = pi(p, TASK + 2);
  const c = <usize> pi(p, TASK + 3);
  const tm = pi(p, TASK + 6);
  const tn = pi(p, TASK + 7);
  const accumulate = pi(p, TASK + 8) != 0;
  const aPacked = <usize> pi(p, TASK + 9);
  const aPackedBytes: usize = aPacked == 0 ? 0 : packed_a_bytes(m, pi(p, G_K), pi(p, G_KC));
  const ws = workspace(p, tid);
  while (claimTile(p, batch, m, n, tm, tn)) {
    const b = TILE_OUTER;
    const m0 = TILE_M0;
    const n0 = TILE_N0;
    const cp = c + ((<usize> (b * m + m0) * <usize> n + <usize> n0) << 2);
    const aB: usize = aPacked == 0 ? 0 : aPacked + <usize> b * aPackedBytes;
    const aOff = b * pi(p, TASK + 4);
    const bOff = b * pi(p, TASK + 5);
    gemm(p, aOff, bOff, m0, imin(tm, m - m0), n0, imin(tn, n - n0), cp, n, accumulate, ws, aB);
  }
}
