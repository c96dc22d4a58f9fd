/**
 * Max and average pooling, PyTorch's arithmetic: floor-mode windows, padding never wins a max,
 * average divisors with or without the padded cells. Work items are (image, channel) planes.
 * The argmax is the flat index within the input plane (PyTorch's convention), -1 if a window
 * holds no input cell.
 */

import {
  PL_ARG,
  PL_H,
  PL_IN,
  PL_INCLUDE_PAD,
  PL_KH,
  PL_KW,
  PL_OH,
  PL_OUT,
  PL_OW,
  PL_PH,
  PL_PLANES,
  PL_PW,
  PL_SH,
  PL_SW,
  PL_W,
} from "./slots";
import { grain, imax, imin, nextGroup, pi, zeroF32 } from "./common";

export function maxpool_task(p: usize, tid: i32, nt: i32): void {
  const h = pi(p, PL_H);
  const w = pi(p, PL_W);
  const kh = pi(p, PL_KH);
  const kw = pi(p, PL_KW);
  const sh = pi(p, PL_SH);
  const sw = pi(p, PL_SW);
  const ph = pi(p, PL_PH);
  const pw = pi(p, PL_PW);
  const oh = pi(p, PL_OH);
  const ow = pi(p, PL_OW);
  const planes = pi(p, PL_PLANES);
  // Outputs [xs, xe) have windows wholly inside the row: those go four at a time.
  const xs = (pw + sw - 1) / sw;
  const xe = imax(xs, imin(ow, (w + pw - kw) / sw + 1));
  const per = grain(planes, h * w, nt);
  for (let g = nextGroup(p, per); g < planes; g = nextGroup(p, per)) {
    const end = imin(planes, g + per);
    for (let pl = g; pl < end; pl++) {
      const src = <usize> pi(p, PL_IN) + ((<usize> pl * <usize> (h * w)) << 2);
      const at = (<usize> pl * <usize> (oh * ow)) << 2;
      const output = <usize> pi(p, PL_OUT) + at;
      const args = <usize> pi(p, PL_ARG) + at;
      for (let y = 0; y < oh; y++) {
        const h0 = imax(y * sh - ph, 0);
        const h1 = imin(y * sh - ph + kh, h);
        const rowOut = <usize> (y * ow);
        for (let x = 0; x < ow; x++) {
          if (h0 < h1 && x >= xs && x < xe && xe - xs >= 4) {
            // The last group overlaps the previous one rather than leaving a scalar tail.
            const x4 = imin(x, xe - 4);
            maxpool4(src, w, h0, h1, x4 * sw - pw, sw, kw, output, args, (rowOut + <usize> x4) << 2);
            x = x4 + 3;
            continue;
          }
          const w0 = imax(x * sw - pw, 0);
          const w1 = imin(x * sw - pw + kw, w);
          let where = h0 < h1 && w0 < w1 ? h0 * w + w0 : -1;
          let best: i32 = where < 0
            ? reinterpret<i32>(-Infinity)
            : load<i32>(src + (<usize> where << 2));
          for (let i = h0; i < h1; i++) {
            const row = src + ((<usize> (i * w)) << 2);
            for (let j = w0; j < w1; j++) {
              // Branch-free on the bits: on random data the comparison is a coin flip, and V8
              // lowers an f32 select to a branch (8.4 ns per input with branches, 5.7 without).
              const bits = load<i32>(row + (<usize> j << 2));
              const v = reinterpret<f32>(bits);
              const take = <i32> (v > reinterpret<f32>(best)) | <i32> (v != v);
              best = select<i32>(bits, best, take != 0);
              where = select<i32>(i * w + j, where, take != 0);
            }
          }
          const o = (rowOut + <usize> x) << 2;
          store<i32>(output + o, best);
          store<i32>(args + o, where);
        }
      }
    }
  }
}

/**
 * Four neighbouring outputs whose windows (columns c0 + t*sw .. + kw) lie inside the row, in
 * vector lanes; same visiting order and tie rule as the scalar loop, so the same argmax.
 */
function maxpool4(
  src: usize,
  w: i32,
  h0: i32,
  h1: i32,
  c0: i32,
  sw: i32,
  kw: i32,
  output: usize,
  args: usize,
  o: usize,
): void {
  const lanes = i32x4.mul(i32x4.splat(sw), v128(0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0));
  let best = f32x4.splat(0);
  let where = i32x4.splat(-1);
  let first = true;
  for (let i = h0; i < h1; i++) {
    const row = src + ((<usize> (i * w)) << 2);
    for (let j = 0; j < kw; j++) {
      const c = c0 + j;
      const at = row + (<usize> c << 2);
      let v: v128;
      if (sw == 1) {
        v = v128.load(at);
      } else if (sw == 2) {
        v = i32x4.shuffle(v128.load(at), v128.load(at, 16), 0, 2, 4, 6);
      } else {
        v = f32x4.splat(load<f32>(at));
        v = f32x4.replace_lane(v, 1, load<f32>(at + (<usize> sw << 2)));
        v = f32x4.replace_lane(v, 2, load<f32>(at + (<usize> (2 * sw) << 2)));
        v = f32x4.replace_lane(v, 3, load<f32>(at + (<usize> (3 * sw) << 2)));
      }
      const index = i32x4.add(i32x4.splat(i * w + c), lanes);
      if (first) {
        best = v;
        where = index;
        first = false;
        continue;
      }
      const take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
      best = v128.bitselect(v, best, take);
      where = v128.bitselect(index, where, take);
    }
  }
  v128.store(output + o, best);
  v128.store(args + o, where);
}

export function maxpool_bwd_task(p: usize, tid: i32, nt: i32): void {
  const hw = pi(p, PL_H) * pi(p, PL_W);
  const ohw = pi(p, PL_OH) * pi(p, PL_OW);
  const planes = pi(p, PL_PLANES);
  const per = grain(planes, hw, nt);
  for (let g = nextGroup(p, per); g < planes; g = nextGroup(p, per)) {
    const end = imin(planes, g + per);
    for (let pl = g; pl < end; pl++) {
      const gy = <usize> pi(p, PL_IN) + ((<usize> pl * <usize> ohw) << 2);
      const arg = <usize> pi(p, PL_ARG) + ((<usize> pl * <usize> ohw) << 2);
      const gx = <usize> pi(p, PL_OUT) + ((<usize> pl * <usize> hw) << 2);
      zeroF32(gx, hw);
      for (let o = 0; o < ohw; o++) {
        const where = load<i32>(arg + (<usize> o << 2));
        if (where < 0) continue;
        const at = gx + (<usize> where << 2);
        store<f32>(at, load<f32>(at) + load<f32>(gy + (<usize> o << 2)));
      }
    }
  }
}

/** PyTorch's divisor: the window clipped to the padded input, or to the input itself. */
function divisor(p: usize, y: i32, x: i32): f32 {
  const h = pi(p, PL_H);
  const w = pi(p, PL_W);
  const hs = y * pi(p, PL_SH) - pi(p, PL_PH);
  const ws = x * pi(p, PL_SW) - pi(p, PL_PW);
  if (pi(p, PL_INCLUDE_PAD) != 0) {
    const he = imin(hs + pi(p, PL_KH), h + pi(p, PL_PH));
    const we = imin(ws + pi(p, PL_KW), w + pi(p, PL_PW));
    return <f32> ((he - hs) * (we - ws));
  }
  const he = imin(hs + pi(p, PL_KH), h);
  const we = imin(ws + pi(p, PL_KW), w);
  return <f32> ((he - imax(hs, 0)) * (we - imax(ws, 0)));
}

/**
 * The average pool's walk over planes and windows, forward (each window's mean into y) or
 * backward (each gy / divisor spread over its window's cells of gx); PL_IN is y's source or gy,
 * PL_OUT y or gx. `backward` is a constant once inlined, so each task keeps its own loop.
 */
@inline
function avgWalk(p: usize, nt: i32, backward: bool): void {
  const h = pi(p, PL_H);
  const w = pi(p, PL_W);
  const oh = pi(p, PL_OH);
  const ow = pi(p, PL_OW);
  const planes = pi(p, PL_PLANES);
  const per = grain(planes, h * w, nt);
  for (let g = nextGroup(p, per); g < planes; g = nextGroup(p, per)) {
    const end = imin(planes, g + per);
    for (let pl = g; pl < end; pl++) {
      const inPlane = <usize> pl * <usize> (h * w);
      const outPlane = <usize> pl * <usize> (oh * ow);
      const cells = <usize> pi(p, backward ? PL_OUT : PL_IN) + (inPlane << 2);
      const outputs = <usize> pi(p, backward ? PL_IN : PL_OUT) + (outPlane << 2);
      if (backward) zeroF32(cells, h * w);
      for (let y = 0; y < oh; y++) {
        const hs = y * pi(p, PL_SH) - pi(p, PL_PH);
        const h0 = imax(hs, 0);
        const h1 = imin(hs + pi(p, PL_KH), h);
        for (let x = 0; x < ow; x++) {
          const ws = x * pi(p, PL_SW) - pi(p, PL_PW);
          const w0 = imax(ws, 0);
          const w1 = imin(ws + pi(p, PL_KW), w);
          const o = outputs + (<usize> (y * ow + x) << 2);
          if (backward) {
            const share = load<f32>(o) / divisor(p, y, x);
            for (let i = h0; i < h1; i++) {
              for (let j = w0; j < w1; j++) {
                const at = cells + (<usize> (i * w + j) << 2);
                store<f32>(at, load<f32>(at) + share);
              }
            }
          } else {
            let sum: f32 = 0;
            for (let i = h0; i < h1; i++) {
              for (let j = w0; j < w1; j++) sum += load<f32>(cells + (<usize> (i * w + j) << 2));
            }
            store<f32>(o, sum / divisor(p, y, x));
          }
        }
      }
    }
  }
}

export function avgpool_task(p: usize, _tid: i32, nt: i32): void {
  avgWalk(p, nt, false);
}

export function avgpool_bwd_task(p: usize, _tid: i32, nt: i32): void {
  avgWalk(p, nt, true);
}
