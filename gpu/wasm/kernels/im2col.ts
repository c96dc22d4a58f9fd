/**
 * Rows of the im2col matrix built on demand: row ck = (c, i, j) over positions q = (image,
 * oh, ow) holds x[image, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 in the padding). Building
 * rows into a small buffer lets the GEMM packers read the convolution input directly (implicit
 * GEMM): the column matrix never exists in memory. Positions run across images, so layers with
 * tiny feature maps (2 x 2 in ResNet's last stage) still make wide GEMMs.
 */

import {
  CV_DH,
  CV_DW,
  CV_H,
  CV_IMG,
  CV_KH,
  CV_KW,
  CV_OH,
  CV_OW,
  CV_PH,
  CV_PW,
  CV_SH,
  CV_SW,
  CV_W,
} from "./slots";
import { imax, imin, pi, zeroF32 } from "./common";

/** Output positions of one image: the im2col columns per image. */
export function imagePositions(p: usize): i32 {
  return pi(p, CV_OH) * pi(p, CV_OW);
}

/** Elements of one input plane. */
export function planeSize(p: usize): i32 {
  return pi(p, CV_H) * pi(p, CV_W);
}

/** Taps of one filter: the im2col rows per input channel. */
export function filterTaps(p: usize): i32 {
  return pi(p, CV_KH) * pi(p, CV_KW);
}

/** Writes im2col row `ck` for positions [q0, q0 + len) (across images) of `x` to `dst`. */
export function im2colRow(p: usize, x: usize, ck: i32, q0: i32, len: i32, dst: usize): void {
  acrossImages(p, x, ck, q0, len, dst, false);
}

/** Adds `src` (im2col row `ck` over positions [q0, q0 + len)) back into the images at `x`. */
export function col2imRowAdd(p: usize, x: usize, ck: i32, q0: i32, len: i32, src: usize): void {
  acrossImages(p, x, ck, q0, len, src, true);
}

/** Both directions, image by image: `add` scatters `buf` into x, else gathers x into `buf`. */
function acrossImages(
  p: usize,
  x: usize,
  ck: i32,
  q0: i32,
  len: i32,
  buf: usize,
  add: bool,
): void {
  const positions = imagePositions(p);
  const img = <usize> pi(p, CV_IMG) << 2;
  let q = q0;
  let at = buf;
  const end = q0 + len;
  while (q < end) {
    const n = q / positions;
    const p0 = q - n * positions;
    const seg = imin(end - q, positions - p0);
    imageRow(p, x + <usize> n * img, ck, p0, seg, at, add);
    at += <usize> seg << 2;
    q += seg;
  }
}

/**
 * im2col row `ck` over positions [p0, p0 + len) of the single image at `x`, gathered into `buf`
 * or (`add`) added from it back into the image: one output row of positions at a time.
 */
function imageRow(p: usize, x: usize, ck: i32, p0: i32, len: i32, buf: usize, add: bool): void {
  const kh = pi(p, CV_KH);
  const kw = pi(p, CV_KW);
  const h = pi(p, CV_H);
  const w = pi(p, CV_W);
  const ow = pi(p, CV_OW);
  const sh = pi(p, CV_SH);
  const sw = pi(p, CV_SW);
  const khw = kh * kw;
  const c = ck / khw;
  const r = ck - c * khw;
  const i = r / kw;
  const j = r - i * kw;
  const plane = x + ((<usize> c * <usize> h * <usize> w) << 2);
  const rowOff = i * pi(p, CV_DH) - pi(p, CV_PH);
  const colOff = j * pi(p, CV_DW) - pi(p, CV_PW);
  if (!add && sh == 1 && sw == 1 && ow == w) {
    shiftedRow(plane, h, w, rowOff, colOff, p0, len, buf);
    return;
  }
  let oh = p0 / ow;
  let o = p0 - oh * ow;
  let left = len;
  let at = buf;
  while (left > 0) {
    const seg = imin(left, ow - o);
    const ih = oh * sh + rowOff;
    if (ih >= 0 && ih < h) {
      const row = plane + ((<usize> ih * <usize> w) << 2);
      if (add) addSegment(row, o * sw + colOff, sw, w, seg, at);
      else copySegment(row, o * sw + colOff, sw, w, seg, at);
    } else if (!add) {
      zeroF32(at, seg);
    }
    at += <usize> seg << 2;
    left -= seg;
    oh++;
    o = 0;
  }
}

/** out[t] = row[iw0 + t * sw] for t < seg, 0 where the column is padding. */
function copySegment(row: usize, iw0: i32, sw: i32, w: i32, seg: i32, out: usize): void {
  if (sw != 1) {
    for (let t = 0; t < seg; t++) {
      const iw = iw0 + t * sw;
      store<f32>(out + (<usize> t << 2), iw >= 0 && iw < w ? load<f32>(row + (<usize> iw << 2)) : <f32> 0);
    }
    return;
  }
  // Segments are one output row, often 4-28 floats: inline loops beat the calls there,
  // memory.copy wins from about 32 floats (measured per element of a packed panel).
  const lo = imin(imax(-iw0, 0), seg);
  const hi = imax(imin(w - iw0, seg), lo);
  const from = row + (<usize> iw0 << 2);
  let t = 0;
  for (; t < lo; t++) store<f32>(out + (<usize> t << 2), 0);
  if (hi - lo >= 32) {
    memory.copy(out + (<usize> lo << 2), from + (<usize> lo << 2), <usize> (hi - lo) << 2);
    t = hi;
  }
  for (; t + 4 <= hi; t += 4) {
    v128.store(out + (<usize> t << 2), v128.load(from + (<usize> t << 2)));
  }
  for (; t < hi; t++) store<f32>(out + (<usize> t << 2), load<f32>(from + (<usize> t << 2)));
  for (; t < seg; t++) store<f32>(out + (<usize> t << 2), 0);
}

/** row[iw0 + t * sw] += src[t] for t < seg where the column is inside the image. */
function addSegment(row: usize, iw0: i32, sw: i32, w: i32, seg: i32, src: usize): void {
  if (sw == 1) {
    const lo = imin(imax(-iw0, 0), seg);
    const hi = imax(imin(w - iw0, seg), lo);
    addF32(row + (<usize> (iw0 + lo) << 2), src + (<usize> lo << 2), hi - lo);
    return;
  }
  for (let t = 0; t < seg; t++) {
    const iw = iw0 + t * sw;
    if (iw >= 0 && iw < w) {
      const at = row + (<usize> iw << 2);
      store<f32>(at, load<f32>(at) + load<f32>(src + (<usize> t << 2)));
    }
  }
}

/**
 * imageRow for stride 1 and ow == w, where the row is the plane shifted by rowOff * w + colOff:
 * one contiguous copy plus zeroed border columns, instead of a loop per output row (rows of
 * 2-16 floats on ResNet's small maps made the per-row overhead dominate the packing).
 */
function shiftedRow(
  src: usize,
  h: i32,
  w: i32,
  rowOff: i32,
  colOff: i32,
  p0: i32,
  len: i32,
  dst: usize,
): void {
  const delta = rowOff * w + colOff;
  const hw = h * w;
  const end = p0 + len;
  // Positions whose source row is inside the plane, clamped so the source stays in the plane.
  const lo = imin(imax(p0, imax(-rowOff * w, -delta)), end);
  const hi = imax(imin(end, imin((h - rowOff) * w, hw - delta)), lo);
  zeroF32(dst, lo - p0);
  if (hi > lo) {
    const out = dst + (<usize> (lo - p0) << 2);
    const from = src + (<usize> (lo + delta) << 2);
    const n = hi - lo;
    if (n >= 32) memory.copy(out, from, <usize> n << 2);
    else for (let t = 0; t < n; t++) store<f32>(out + (<usize> t << 2), load<f32>(from + (<usize> t << 2)));
  }
  zeroF32(dst + (<usize> (hi - p0) << 2), end - hi);
  if (colOff == 0) return;
  // Columns whose source column falls off the left or right edge read a neighbour row: zero them.
  const c0 = colOff < 0 ? 0 : w - colOff;
  const c1 = colOff < 0 ? imin(-colOff, w) : w;
  const r0 = p0 / w;
  for (let r = r0; r * w < end; r++) {
    const a = imax(r * w + imax(c0, 0), p0);
    const b = imin(r * w + c1, end);
    for (let q = a; q < b; q++) store<f32>(dst + (<usize> (q - p0) << 2), 0);
  }
}

/** dst[i] += src[i] for n floats. */
function addF32(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = dst + (<usize> i << 2);
    v128.store(at, f32x4.add(v128.load(at), v128.load(src + (<usize> i << 2))));
  }
  for (; i < n; i++) {
    const at = dst + (<usize> i << 2);
    store<f32>(at, load<f32>(at) + load<f32>(src + (<usize> i << 2)));
  }
}
