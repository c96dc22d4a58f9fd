/**
 * CPU twins of gpu/shaders/conv.wgsl: direct convolution loops, the oracle the WGSL kernels and
 * the PyTorch fixtures are checked against. Sums run in float64 and round once, so the twin is
 * at least as accurate as any kernel it judges. Loops are ordered so the innermost one walks a
 * contiguous output row with its valid range precomputed (no bounds test per element).
 */

import type { Conv2dParams, HostStorage } from "../types.ts";
import { f32, wrap } from "./storage.ts";

/** The outputs o in [lo, hi) whose input coordinate o * stride + offset lies in [0, size). */
function validRange(
  offset: number,
  stride: number,
  size: number,
  outSize: number,
): [number, number] {
  const lo = Math.max(0, Math.ceil(-offset / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - offset) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** Per kernel tap: input offset and valid output range along one axis. */
function taps(k: number, dil: number, pad: number, stride: number, size: number, out: number) {
  return Array.from({ length: k }, (_, t) => {
    const offset = t * dil - pad;
    const [lo, hi] = validRange(offset, stride, size, out);
    return { offset, lo, hi };
  });
}

interface Geometry {
  cg: number;
  og: number;
  rows: ReturnType<typeof taps>;
  cols: ReturnType<typeof taps>;
}

function geometry(p: Conv2dParams): Geometry {
  return {
    cg: p.c / p.groups,
    og: p.o / p.groups,
    rows: taps(p.kh, p.dilationH, p.padH, p.strideH, p.h, p.oh),
    cols: taps(p.kw, p.dilationW, p.padW, p.strideW, p.w, p.ow),
  };
}

// The three passes are one loop nest (convRuns): (n, o, c in o's group, ky, kx, oy) outer, then a
// run over the valid ox that each pass handles its own way. The runs are small functions of their
// own so V8 keeps them optimised whatever shapes came before (a single loop nest re-optimised per
// shape ran 4x slower).

/** A run of one pass: weight index, input and output row offsets, valid ox range [lo, hi). */
type Run = (wi: number, xRow: number, yRow: number, lo: number, hi: number) => void;

/** Calls `run` for every (image, filter, channel, tap, output row) of the convolution. */
function convRuns(p: Conv2dParams, run: Run): void {
  const { cg, og, rows, cols } = geometry(p);
  for (let n = 0; n < p.n; n++) {
    for (let o = 0; o < p.o; o++) {
      const yPlane = (n * p.o + o) * p.oh * p.ow;
      const xGroup = (n * p.c + Math.floor(o / og) * cg) * p.h * p.w;
      for (let cc = 0; cc < cg; cc++) {
        const xPlane = xGroup + cc * p.h * p.w;
        for (let ky = 0; ky < p.kh; ky++) {
          const r = rows[ky];
          for (let kx = 0; kx < p.kw; kx++) {
            const { offset, lo, hi } = cols[kx];
            const wi = ((o * cg + cc) * p.kh + ky) * p.kw + kx;
            for (let oy = r.lo; oy < r.hi; oy++) {
              run(
                wi,
                xPlane + (oy * p.strideH + r.offset) * p.w + offset,
                yPlane + oy * p.ow,
                lo,
                hi,
              );
            }
          }
        }
      }
    }
  }
}

/** dst[d + i * ds] += a * src[s + i * ss] for i in [lo, hi). */
function axpyRow(
  dst: Float64Array,
  d: number,
  ds: number,
  src: Float32Array,
  s: number,
  ss: number,
  lo: number,
  hi: number,
  a: number,
): void {
  for (let i = lo; i < hi; i++) dst[d + i * ds] += a * src[s + i * ss];
}

/** sum of a[ai + i] * b[bi + i * bs] for i in [lo, hi). */
function dotRow(
  a: Float32Array,
  ai: number,
  b: Float32Array,
  bi: number,
  bs: number,
  lo: number,
  hi: number,
): number {
  let acc = 0;
  for (let i = lo; i < hi; i++) acc += a[ai + i] * b[bi + i * bs];
  return acc;
}

export function conv2d(x: HostStorage, w: HostStorage, p: Conv2dParams): HostStorage {
  const xs = f32(x);
  const ws = f32(w);
  const y = new Float64Array(p.n * p.o * p.oh * p.ow);
  const s = p.strideW;
  convRuns(p, (wi, xRow, yRow, lo, hi) => axpyRow(y, yRow, 1, xs, xRow, s, lo, hi, ws[wi]));
  return wrap(Float32Array.from(y));
}

export function conv2dGradInput(g: HostStorage, w: HostStorage, p: Conv2dParams): HostStorage {
  const gs = f32(g);
  const ws = f32(w);
  const gx = new Float64Array(p.n * p.c * p.h * p.w);
  const s = p.strideW;
  convRuns(p, (wi, xRow, yRow, lo, hi) => axpyRow(gx, xRow, s, gs, yRow, 1, lo, hi, ws[wi]));
  return wrap(Float32Array.from(gx));
}

export function conv2dGradWeight(x: HostStorage, g: HostStorage, p: Conv2dParams): HostStorage {
  const xs = f32(x);
  const gs = f32(g);
  const gw = new Float64Array(p.o * (p.c / p.groups) * p.kh * p.kw);
  const s = p.strideW;
  convRuns(p, (wi, xRow, yRow, lo, hi) => {
    gw[wi] += dotRow(gs, yRow, xs, xRow, s, lo, hi);
  });
  return wrap(Float32Array.from(gw));
}
