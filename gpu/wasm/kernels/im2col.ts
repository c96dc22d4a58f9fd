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

/** Writes im2col row `ck` for positions [q0, q0 + len) (across images) of `x` to `dst`. */
export function im2colRow(p: usize, x: usize, ck: i32, q0: i32, len: i32, dst: usize): void {
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const img = <usize> pi(p, CV_IMG) << 2;
  let q = q0;
  let out = dst;
  const end = q0 + len;
  while (q < end) {
    const n = q / positions;
    const p0 = q - n * positions;
    const seg = imin(end - q, positions - p0);
    imageRow(p, x + <usize> n * img, ck, p0, seg, out);
    out += <usize> seg << 2;
    q += seg;
  }
}

/** Adds `src` (im2col row `ck` over positions [q0, q0 + len)) back into the images at `x`. */
export function col2imRowAdd(p: usize, x: usize, ck: i32, q0: i32, len: i32, src: usize): void {
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const img = <usize> pi(p, CV_IMG) << 2;
  let q = q0;
  let from = src;
  const end = q0 + len;
  while (q < end) {
    const n = q / positions;
    const p0 = q - n * positions;
    const seg = imin(end - q, positions - p0);
    imageRowAdd(p, x + <usize> n * img, ck, p0, seg, from);
    from += <usize> seg << 2;
    q += seg;
  }
}

/** im2col row `ck` over positions [p0, p0 + len) of the single image at `x`. */
function imageRow(p: usize, x: usize, ck: i32, p0: i32, len: i32, dst: usize): void {
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
  const src = x + ((<usize> c * <usize> h * <usize> w) << 2);
  const rowOff = i * pi(p, CV_DH) - pi(p, CV_PH);
  const colOff = j * pi(p, CV_DW) - pi(p, CV_PW);
  let oh = p0 / ow;
  let o = p0 - oh * ow;
  let left = len;
  let out = dst;
  while (left > 0) {
    const seg = imin(left, ow - o);
    const ih = oh * sh + rowOff;
    if (ih < 0 || ih >= h) {
      zeroF32(out, seg);
    } else {
      const row = src + ((<usize> ih * <usize> w) << 2);
      const iw0 = o * sw + colOff;
      if (sw == 1) {
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
      } else {
        for (let t = 0; t < seg; t++) {
          const iw = iw0 + t * sw;
          store<f32>(
            out + (<usize> t << 2),
            iw >= 0 && iw < w ? load<f32>(row + (<usize> iw << 2)) : <f32> 0,
          );
        }
      }
    }
    out += <usize> seg << 2;
    left -= seg;
    oh++;
    o = 0;
  }
}

/** Adds im2col row `ck` over positions [p0, p0 + len) back into the single image at `x`. */
function imageRowAdd(p: usize, x: usize, ck: i32, p0: i32, len: i32, src: usize): void {
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
  const dst = x + ((<usize> c * <usize> h * <usize> w) << 2);
  const rowOff = i * pi(p, CV_DH) - pi(p, CV_PH);
  const colOff = j * pi(p, CV_DW) - pi(p, CV_PW);
  let oh = p0 / ow;
  let o = p0 - oh * ow;
  let left = len;
  let from = src;
  while (left > 0) {
    const seg = imin(left, ow - o);
    const ih = oh * sh + rowOff;
    if (ih >= 0 && ih < h) {
      const row = dst + ((<usize> ih * <usize> w) << 2);
      const iw0 = o * sw + colOff;
      if (sw == 1) {
        const lo = imin(imax(-iw0, 0), seg);
        const hi = imax(imin(w - iw0, seg), lo);
        addF32(row + (<usize> (iw0 + lo) << 2), from + (<usize> lo << 2), hi - lo);
      } else {
        for (let t = 0; t < seg; t++) {
          const iw = iw0 + t * sw;
          if (iw >= 0 && iw < w) {
            const at = row + (<usize> iw << 2);
            store<f32>(at, load<f32>(at) + load<f32>(from + (<usize> t << 2)));
          }
        }
      }
    }
    from += <usize> seg << 2;
    left -= seg;
    oh++;
    o = 0;
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
