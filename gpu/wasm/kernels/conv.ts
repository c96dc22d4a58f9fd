/**
 * 2-D convolution (NCHW, OIHW, groups) on the GEMM: the forward pass and the weight gradient
 * are implicit GEMMs whose B panels are packed straight from the images (im2col rows built on
 * the fly); the input gradient is a GEMM into a column chunk followed by col2im, chunk by chunk.
 * The GEMMs' position dimension runs over all images of the batch (q = image x positions).
 * Depthwise convolutions (one input channel per group) run direct kernels instead: their GEMMs
 * would have a single row and k = kh*kw, far too thin for the register blocking.
 */

import {
  CONV_GROUPS,
  CONV_KSPLIT,
  CONV_N,
  CONV_OG,
  CONV_OUT,
  CONV_TILE,
  CONV_TILE2,
  CONV_W,
  CONV_X,
  CONV_Y,
  COUNTER,
  CV_C,
  CV_IMG,
  G_K,
  G_KC,
  G_MC,
  G_NC,
} from "./slots";
import { claim, copyF32, imin, pi, workspace, zeroF32 } from "./common";
import { claimTile, gemm, gemm_ws_bytes, TILE_M0, TILE_N0, TILE_OUTER } from "./gemm";
import { col2imRowAdd, filterTaps, im2colRow, imagePositions, planeSize } from "./im2col";

// The geometry and buffers of the dispatch a task runs, read once by readGeometry(): globals of
// this thread's own instance, so no thread sees another's.
let IMAGES = 0;
let GROUPS = 0;
/** Output channels and input channels per group. */
let OG = 0;
let CG = 0;
/** Elements of an input plane, taps of a filter, output positions of an image. */
let HW = 0;
let KHW = 0;
let POSITIONS = 0;
/** The input, weights, output (gy in the backward tasks), gradient output, this thread's workspace. */
let X: usize = 0;
let WT: usize = 0;
let Y: usize = 0;
let OUT: usize = 0;
let WORK: usize = 0;

function readGeometry(p: usize, tid: i32): void {
  IMAGES = pi(p, CONV_N);
  GROUPS = pi(p, CONV_GROUPS);
  OG = pi(p, CONV_OG);
  CG = pi(p, CV_C);
  HW = planeSize(p);
  KHW = filterTaps(p);
  POSITIONS = imagePositions(p);
  X = <usize> pi(p, CONV_X);
  WT = <usize> pi(p, CONV_W);
  Y = <usize> pi(p, CONV_Y);
  OUT = <usize> pi(p, CONV_OUT);
  WORK = workspace(p, tid);
}

/**
 * y[:, g] = W[g] x im2col(x[:, g]) with positions q = (image, oh, ow) as the GEMM columns;
 * items are (group, block of positions). A block that straddles images goes through a scratch
 * tile, since y keeps each image's channels apart.
 */
export function conv_fwd_task(p: usize, tid: i32, _nt: i32): void {
  readGeometry(p, tid);
  const ck = CG * KHW;
  const tn = pi(p, CONV_TILE);
  const total = IMAGES * POSITIONS;
  const tiles = (total + tn - 1) / tn;
  const items = GROUPS * tiles;
  const scratch = WORK + <usize> gemm_ws_bytes(pi(p, G_KC), pi(p, G_MC), pi(p, G_NC));
  const o = GROUPS * OG;
  for (let item = claim(p, COUNTER); item < items; item = claim(p, COUNTER)) {
    const g = item / tiles;
    const q0 = (item - g * tiles) * tn;
    const len = imin(tn, total - q0);
    const img = q0 / POSITIONS;
    const p0 = q0 - img * POSITIONS;
    const aOff = g * OG * ck;
    const bOff = g * CG * HW;
    if (p0 + len <= POSITIONS) {
      const out = Y + ((<usize> (img * o + g * OG) * <usize> POSITIONS + <usize> p0) << 2);
      gemm(p, aOff, bOff, 0, OG, q0, len, out, POSITIONS, false, WORK);
      continue;
    }
    gemm(p, aOff, bOff, 0, OG, q0, len, scratch, len, false, WORK);
    for (let q = q0; q < q0 + len;) {
      const i = q / POSITIONS;
      const pp = q - i * POSITIONS;
      const seg = imin(q0 + len - q, POSITIONS - pp);
      for (let m = 0; m < OG; m++) {
        const dst = Y + ((<usize> (i * o + g * OG + m) * <usize> POSITIONS + <usize> pp) << 2);
        copyF32(dst, scratch + (<usize> (m * len + q - q0) << 2), seg);
      }
      q += seg;
    }
  }
}

/**
 * gW[g] = gY[:, g] x im2col(x[:, g])^T, the sum over images and positions as one K; items
 * are output tiles of (output channels x im2col rows), times CONV_KSPLIT slabs of K when the
 * tiles alone are too few for the threads (a first layer's gW is one 16 x 75 tile): slab s
 * then writes its own copy of gW at CONV_OUT + s * |gW|, summed by the host afterwards.
 */
export function conv_gw_task(p: usize, tid: i32, _nt: i32): void {
  readGeometry(p, tid);
  const ck = CG * KHW;
  const tn = pi(p, CONV_TILE);
  const tm = pi(p, CONV_TILE2);
  const splits = pi(p, CONV_KSPLIT);
  const kTotal = pi(p, G_K);
  const slab = (kTotal + splits - 1) / splits;
  const size = <usize> (GROUPS * OG * ck) << 2;
  // The products are (slab, group): the tiles of one slab come before the next slab's.
  while (claimTile(p, splits * GROUPS, OG, ck, tm, tn)) {
    const s = TILE_OUTER / GROUPS;
    const g = TILE_OUTER - s * GROUPS;
    const m0 = TILE_M0;
    const n0 = TILE_N0;
    const out = OUT + <usize> s * size + ((<usize> (g * OG + m0) * <usize> ck + <usize> n0) << 2);
    const k0 = s * slab;
    const aOff = g * OG * POSITIONS;
    const bOff = g * CG * HW;
    const mLen = imin(tm, OG - m0);
    const nLen = imin(tn, ck - n0);
    const kLen = imin(slab, kTotal - k0);
    gemm(p, aOff, bOff, m0, mLen, n0, nLen, out, ck, false, WORK, 0, k0, kLen);
  }
}

/**
 * gX = col2im(W^T x gY) one chunk of positions at a time; items are (group, channel block,
 * block of images), so every item owns the gX planes it writes.
 */
export function conv_gi_task(p: usize, tid: i32, _nt: i32): void {
  readGeometry(p, tid);
  const ck = CG * KHW;
  const cb = pi(p, CONV_TILE);
  const ib = pi(p, CONV_TILE2);
  const image = <usize> pi(p, CV_IMG) << 2;
  const nc = pi(p, G_NC);
  const cBlocks = (CG + cb - 1) / cb;
  const iBlocks = (IMAGES + ib - 1) / ib;
  const items = GROUPS * cBlocks * iBlocks;
  const gcol = WORK + <usize> gemm_ws_bytes(pi(p, G_KC), pi(p, G_MC), nc);
  for (let item = claim(p, COUNTER); item < items; item = claim(p, COUNTER)) {
    const gc = item / iBlocks;
    const i0 = (item - gc * iBlocks) * ib;
    const i1 = imin(IMAGES, i0 + ib);
    const g = gc / cBlocks;
    const c0 = (gc - g * cBlocks) * cb;
    const cn = imin(cb, CG - c0);
    const rows = cn * KHW;
    const planes = OUT + ((<usize> (g * CG + c0) * <usize> HW) << 2);
    for (let i = i0; i < i1; i++) zeroF32(planes + <usize> i * image, cn * HW);
    const end = i1 * POSITIONS;
    const aOff = g * OG * ck + c0 * KHW;
    const bOff = g * OG * POSITIONS;
    for (let q = i0 * POSITIONS; q < end; q += nc) {
      const len = imin(nc, end - q);
      gemm(p, aOff, bOff, 0, rows, q, len, gcol, len, false, WORK);
      for (let r = 0; r < rows; r++) {
        col2imRowAdd(p, planes, r, q, len, gcol + (<usize> (r * len) << 2));
      }
    }
  }
}

/** Depthwise forward: y[img, o] = sum over taps of w[o, tap] x shifted x[img, o / og]. */
export function dw_fwd_task(p: usize, tid: i32, _nt: i32): void {
  readGeometry(p, tid);
  const items = IMAGES * GROUPS * OG;
  for (let item = claim(p, COUNTER); item < items; item = claim(p, COUNTER)) {
    const o = item % (GROUPS * OG);
    const plane = X + ((<usize> (item / OG) * <usize> HW) << 2);
    const out = Y + ((<usize> item * <usize> POSITIONS) << 2);
    for (let tap = 0; tap < KHW; tap++) {
      im2colRow(p, plane, tap, 0, POSITIONS, WORK);
      axpy(out, WORK, load<f32>(WT + (<usize> (o * KHW + tap) << 2)), POSITIONS, tap > 0);
    }
  }
}

/** Depthwise input gradient: every gX plane gathers its group's og output planes. */
export function dw_gi_task(p: usize, tid: i32, _nt: i32): void {
  readGeometry(p, tid);
  const items = IMAGES * GROUPS;
  for (let item = claim(p, COUNTER); item < items; item = claim(p, COUNTER)) {
    const g = item % GROUPS;
    const plane = OUT + ((<usize> item * <usize> HW) << 2);
    zeroF32(plane, HW);
    for (let m = 0; m < OG; m++) {
      const src = Y + ((<usize> (item * OG + m) * <usize> POSITIONS) << 2);
      for (let tap = 0; tap < KHW; tap++) {
        const wt = load<f32>(WT + (<usize> ((g * OG + m) * KHW + tap) << 2));
        axpy(WORK, src, wt, POSITIONS, false);
        col2imRowAdd(p, plane, tap, 0, POSITIONS, WORK);
      }
    }
  }
}

/** Depthwise weight gradient: items are output channels, each owning its kh*kw weights. */
export function dw_gw_task(p: usize, tid: i32, _nt: i32): void {
  readGeometry(p, tid);
  const channels = GROUPS * OG;
  for (let o = claim(p, COUNTER); o < channels; o = claim(p, COUNTER)) {
    const g = o / OG;
    for (let tap = 0; tap < KHW; tap++) {
      let acc: f32 = 0;
      for (let img = 0; img < IMAGES; img++) {
        im2colRow(p, X + ((<usize> (img * GROUPS + g) * <usize> HW) << 2), tap, 0, POSITIONS, WORK);
        acc += dot(WORK, Y + ((<usize> (img * channels + o) * <usize> POSITIONS) << 2), POSITIONS);
      }
      store<f32>(OUT + (<usize> (o * KHW + tap) << 2), acc);
    }
  }
}

/** dst = a * src (+ dst when accumulating) over n floats. */
function axpy(dst: usize, src: usize, a: f32, n: i32, accumulate: bool): void {
  const av = f32x4.splat(a);
  let i = 0;
  if (accumulate) {
    for (; i + 4 <= n; i += 4) {
      const at = dst + (<usize> i << 2);
      v128.store(at, f32x4.relaxed_madd(av, v128.load(src + (<usize> i << 2)), v128.load(at)));
    }
    for (; i < n; i++) {
      const at = dst + (<usize> i << 2);
      store<f32>(at, load<f32>(at) + a * load<f32>(src + (<usize> i << 2)));
    }
  } else {
    for (; i + 4 <= n; i += 4) {
      v128.store(dst + (<usize> i << 2), f32x4.mul(av, v128.load(src + (<usize> i << 2))));
    }
    for (; i < n; i++) store<f32>(dst + (<usize> i << 2), a * load<f32>(src + (<usize> i << 2)));
  }
}

function dot(a: usize, b: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    acc = f32x4.relaxed_madd(v128.load(a + (<usize> i << 2)), v128.load(b + (<usize> i << 2)), acc);
  }
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) +
    f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < n; i++) s += load<f32>(a + (<usize> i << 2)) * load<f32>(b + (<usize> i << 2));
  return s;
}
