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
  CV_H,
  CV_IMG,
  CV_KH,
  CV_KW,
  CV_OH,
  CV_OW,
  CV_W,
  G_K,
  G_KC,
  G_MC,
  G_NC,
  WS_BYTES,
  WS_PTR,
} from "./slots";
import { claim, copyF32, imin, pi, zeroF32 } from "./common";
import { gemm_ws_bytes, gemmRange, gemmTile } from "./gemm";
import { col2imRowAdd, im2colRow } from "./im2col";

function workspace(p: usize, tid: i32): usize {
  return <usize> pi(p, WS_PTR) + <usize> tid * <usize> pi(p, WS_BYTES);
}

function ptr(p: usize, slot: i32): usize {
  return <usize> pi(p, slot);
}

/**
 * y[:, g] = W[g] x im2col(x[:, g]) with positions q = (image, oh, ow) as the GEMM columns;
 * items are (group, block of positions). A block that straddles images goes through a scratch
 * tile, since y keeps each image's channels apart.
 */
export function conv_fwd_task(p: usize, tid: i32, _nt: i32): void {
  const n = pi(p, CONV_N);
  const groups = pi(p, CONV_GROUPS);
  const og = pi(p, CONV_OG);
  const cg = pi(p, CV_C);
  const hw = pi(p, CV_H) * pi(p, CV_W);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const ck = cg * pi(p, CV_KH) * pi(p, CV_KW);
  const tn = pi(p, CONV_TILE);
  const y = ptr(p, CONV_Y);
  const total = n * positions;
  const tiles = (total + tn - 1) / tn;
  const items = groups * tiles;
  const ws = workspace(p, tid);
  const scratch = ws + <usize> gemm_ws_bytes(pi(p, G_KC), pi(p, G_MC), pi(p, G_NC));
  const o = groups * og;
  for (;;) {
    const item = claim(p, COUNTER);
    if (item >= items) break;
    const g = item / tiles;
    const q0 = (item - g * tiles) * tn;
    const len = imin(tn, total - q0);
    const img = q0 / positions;
    const p0 = q0 - img * positions;
    const aOff = g * og * ck;
    const bOff = g * cg * hw;
    if (p0 + len <= positions) {
      const out = y + ((<usize> (img * o + g * og) * <usize> positions + <usize> p0) << 2);
      gemmTile(p, aOff, bOff, 0, og, q0, len, out, positions, false, ws);
      continue;
    }
    gemmTile(p, aOff, bOff, 0, og, q0, len, scratch, len, false, ws);
    for (let q = q0; q < q0 + len;) {
      const i = q / positions;
      const pp = q - i * positions;
      const seg = imin(q0 + len - q, positions - pp);
      for (let m = 0; m < og; m++) {
        const dst = y + ((<usize> (i * o + g * og + m) * <usize> positions + <usize> pp) << 2);
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
  const groups = pi(p, CONV_GROUPS);
  const og = pi(p, CONV_OG);
  const cg = pi(p, CV_C);
  const hw = pi(p, CV_H) * pi(p, CV_W);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const ck = cg * pi(p, CV_KH) * pi(p, CV_KW);
  const tn = pi(p, CONV_TILE);
  const tm = pi(p, CONV_TILE2);
  const gw = ptr(p, CONV_OUT);
  const splits = pi(p, CONV_KSPLIT);
  const kTotal = pi(p, G_K);
  const slab = (kTotal + splits - 1) / splits;
  const mTiles = (og + tm - 1) / tm;
  const nTiles = (ck + tn - 1) / tn;
  const perGroup = mTiles * nTiles;
  const tiles = groups * perGroup;
  const items = tiles * splits;
  const ws = workspace(p, tid);
  const size = <usize> (groups * og * ck) << 2;
  for (;;) {
    const item = claim(p, COUNTER);
    if (item >= items) break;
    const s = item / tiles;
    const t = item - s * tiles;
    const g = t / perGroup;
    const r = t - g * perGroup;
    const mt = r / nTiles;
    const m0 = mt * tm;
    const n0 = (r - mt * nTiles) * tn;
    const out = gw + <usize> s * size + ((<usize> (g * og + m0) * <usize> ck + <usize> n0) << 2);
    const k0 = s * slab;
    const mLen = imin(tm, og - m0);
    const nLen = imin(tn, ck - n0);
    const aOff = g * og * positions;
    gemmRange(
      p,
      aOff,
      g * cg * hw,
      m0,
      mLen,
      n0,
      nLen,
      k0,
      imin(slab, kTotal - k0),
      out,
      ck,
      false,
      ws,
    );
  }
}

/**
 * gX = col2im(W^T x gY) one chunk of positions at a time; items are (group, channel block,
 * block of images), so every item owns the gX planes it writes.
 */
export function conv_gi_task(p: usize, tid: i32, _nt: i32): void {
  const n = pi(p, CONV_N);
  const groups = pi(p, CONV_GROUPS);
  const og = pi(p, CONV_OG);
  const cg = pi(p, CV_C);
  const hw = pi(p, CV_H) * pi(p, CV_W);
  const khw = pi(p, CV_KH) * pi(p, CV_KW);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const ck = cg * khw;
  const cb = pi(p, CONV_TILE);
  const ib = pi(p, CONV_TILE2);
  const gx = ptr(p, CONV_OUT);
  const image = <usize> pi(p, CV_IMG) << 2;
  const nc = pi(p, G_NC);
  const cBlocks = (cg + cb - 1) / cb;
  const iBlocks = (n + ib - 1) / ib;
  const items = groups * cBlocks * iBlocks;
  const ws = workspace(p, tid);
  const gcol = ws + <usize> gemm_ws_bytes(pi(p, G_KC), pi(p, G_MC), nc);
  for (;;) {
    const item = claim(p, COUNTER);
    if (item >= items) break;
    const gc = item / iBlocks;
    const i0 = (item - gc * iBlocks) * ib;
    const i1 = imin(n, i0 + ib);
    const g = gc / cBlocks;
    const c0 = (gc - g * cBlocks) * cb;
    const cn = imin(cb, cg - c0);
    const rows = cn * khw;
    const planes = gx + ((<usize> (g * cg + c0) * <usize> hw) << 2);
    for (let i = i0; i < i1; i++) zeroF32(planes + <usize> i * image, cn * hw);
    const end = i1 * positions;
    for (let q = i0 * positions; q < end; q += nc) {
      const len = imin(nc, end - q);
      gemmTile(
        p,
        g * og * ck + c0 * khw,
        g * og * positions,
        0,
        rows,
        q,
        len,
        gcol,
        len,
        false,
        ws,
      );
      for (let r = 0; r < rows; r++) {
        col2imRowAdd(p, planes, r, q, len, gcol + (<usize> (r * len) << 2));
      }
    }
  }
}

/** Depthwise forward: y[img, o] = sum over taps of w[o, tap] x shifted x[img, o / og]. */
export function dw_fwd_task(p: usize, tid: i32, _nt: i32): void {
  const n = pi(p, CONV_N);
  const groups = pi(p, CONV_GROUPS);
  const og = pi(p, CONV_OG);
  const hw = pi(p, CV_H) * pi(p, CV_W);
  const khw = pi(p, CV_KH) * pi(p, CV_KW);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const x = ptr(p, CONV_X);
  const w = ptr(p, CONV_W);
  const y = ptr(p, CONV_Y);
  const items = n * groups * og;
  const tmp = workspace(p, tid);
  for (;;) {
    const item = claim(p, COUNTER);
    if (item >= items) break;
    const o = item % (groups * og);
    const plane = x + ((<usize> (item / og) * <usize> hw) << 2);
    const out = y + ((<usize> item * <usize> positions) << 2);
    for (let tap = 0; tap < khw; tap++) {
      im2colRow(p, plane, tap, 0, positions, tmp);
      axpy(out, tmp, load<f32>(w + (<usize> (o * khw + tap) << 2)), positions, tap > 0);
    }
  }
}

/** Depthwise input gradient: every gX plane gathers its group's og output planes. */
export function dw_gi_task(p: usize, tid: i32, _nt: i32): void {
  const n = pi(p, CONV_N);
  const groups = pi(p, CONV_GROUPS);
  const og = pi(p, CONV_OG);
  const hw = pi(p, CV_H) * pi(p, CV_W);
  const khw = pi(p, CV_KH) * pi(p, CV_KW);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const w = ptr(p, CONV_W);
  const gy = ptr(p, CONV_Y);
  const gx = ptr(p, CONV_OUT);
  const items = n * groups;
  const tmp = workspace(p, tid);
  for (;;) {
    const item = claim(p, COUNTER);
    if (item >= items) break;
    const g = item % groups;
    const plane = gx + ((<usize> item * <usize> hw) << 2);
    zeroF32(plane, hw);
    for (let m = 0; m < og; m++) {
      const src = gy + ((<usize> (item * og + m) * <usize> positions) << 2);
      for (let tap = 0; tap < khw; tap++) {
        axpy(tmp, src, load<f32>(w + (<usize> ((g * og + m) * khw + tap) << 2)), positions, false);
        col2imRowAdd(p, plane, tap, 0, positions, tmp);
      }
    }
  }
}

/** Depthwise weight gradient: items are output channels, each owning its kh*kw weights. */
export function dw_gw_task(p: usize, tid: i32, _nt: i32): void {
  const n = pi(p, CONV_N);
  const groups = pi(p, CONV_GROUPS);
  const og = pi(p, CONV_OG);
  const hw = pi(p, CV_H) * pi(p, CV_W);
  const khw = pi(p, CV_KH) * pi(p, CV_KW);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const x = ptr(p, CONV_X);
  const gy = ptr(p, CONV_Y);
  const gw = ptr(p, CONV_OUT);
  const channels = groups * og;
  const tmp = workspace(p, tid);
  for (;;) {
    const o = claim(p, COUNTER);
    if (o >= channels) break;
    const g = o / og;
    for (let tap = 0; tap < khw; tap++) {
      let acc: f32 = 0;
      for (let img = 0; img < n; img++) {
        im2colRow(p, x + ((<usize> (img * groups + g) * <usize> hw) << 2), tap, 0, positions, tmp);
        acc += dot(tmp, gy + ((<usize> (img * channels + o) * <usize> positions) << 2), positions);
      }
      store<f32>(gw + (<usize> (o * khw + tap) << 2), acc);
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
