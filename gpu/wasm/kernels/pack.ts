/**
 * Packing of GEMM operands into the micro-kernel's slivers: A into 4-row slivers [k][4], B into
 * 8-column slivers [k][8], from strided matrices (split by image for convolutions) or straight
 * from convolution inputs (im2col rows built on the fly).
 */

import {
  A_CS,
  A_IMG,
  A_PTR,
  A_RS,
  A_SPLIT,
  B_CS,
  B_IMG,
  B_KIND,
  B_PTR,
  B_RS,
  B_SPLIT,
  KIND_IM2COL,
  KIND_STRIDED,
} from "./slots";
import { imin, pi, zeroF32 } from "./common";
import { im2colRow } from "./im2col";

/**
 * Byte strides of packed A and B slivers. A plain kc * 16 or kc * 32 is a power of two for the
 * usual kc, which puts every sliver a packer writes in turn into the same L1 set; one spare
 * cache line per sliver spreads them over the sets (a guard: no change measured on our shapes).
 */
export function aSliver(kc: i32): usize {
  return (<usize> kc << 4) + 64;
}

export function bSliver(kc: i32): usize {
  return (<usize> kc << 5) + 64;
}

/**
 * Four 4-float vectors `stride` bytes apart from `src`, transposed in registers: vector t of the
 * result goes to `dst + t * step`.
 */
function transpose4(src: usize, stride: usize, dst: usize, step: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + stride);
  const r2 = v128.load(src + 2 * stride);
  const r3 = v128.load(src + 3 * stride);
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/** Eight vectors `stride` bytes apart as four k rows of an 8-column B sliver (two transposes). */
function transpose8(src: usize, stride: usize, dst: usize): void {
  transpose4(src, stride, dst, 32);
  transpose4(src + 4 * stride, stride, dst + 16, 32);
}

/**
 * Packs rows [0, mc) x cols [0, kc) of the strided block at `src` into 4-row slivers laid out
 * [k][4], writing k entries at `dst` of each sliver (slivers are `sliver` bytes apart). Loops
 * run along the source's contiguous direction, as in packBStrided.
 */
function packASegment(
  src: usize,
  rs: i32,
  cs: i32,
  mc: i32,
  kc: i32,
  dst: usize,
  sliver: usize,
): void {
  const csb = <usize> cs << 2;
  const rsb = <usize> rs << 2;
  const full = mc & ~3;
  if (rs == 1) {
    for (let k = 0; k < kc; k++) {
      const s = src + <usize> k * csb;
      const d = dst + (<usize> k << 4);
      for (let i = 0; i < full; i += 4) {
        v128.store(d + <usize> (i >> 2) * sliver, v128.load(s + (<usize> i << 2)));
      }
    }
  } else if (cs == 1) {
    for (let i = 0; i < full; i += 4) {
      const s = src + <usize> i * rsb;
      let d = dst + <usize> (i >> 2) * sliver;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const r = s + (<usize> k << 2);
        transpose4(r, rsb, d, 16);
        d += 64;
      }
      for (; k < kc; k++) {
        const r = s + (<usize> k << 2);
        for (let t = 0; t < 4; t++) {
          store<f32>(d + (<usize> t << 2), load<f32>(r + <usize> t * rsb));
        }
        d += 16;
      }
    }
  } else {
    for (let i = 0; i < full; i += 4) {
      const s = src + <usize> i * rsb;
      let d = dst + <usize> (i >> 2) * sliver;
      for (let k = 0; k < kc; k++) {
        for (let t = 0; t < 4; t++) {
          store<f32>(d + (<usize> t << 2), load<f32>(s + <usize> t * rsb + <usize> k * csb));
        }
        d += 16;
      }
    }
  }
  if (full < mc) {
    // The ragged last sliver, zero-padded to 4 rows.
    const rows = mc - full;
    const s = src + <usize> full * rsb;
    let d = dst + <usize> (full >> 2) * sliver;
    for (let k = 0; k < kc; k++) {
      for (let t = 0; t < 4; t++) {
        const v = t < rows ? load<f32>(s + <usize> t * rsb + <usize> k * csb) : <f32> 0;
        store<f32>(d + (<usize> t << 2), v);
      }
      d += 16;
    }
  }
}

/** Packs A rows [m0, m0+mc) x cols [k0, k0+kc); a split k walks image by image. */
export function packA(p: usize, aOff: i32, m0: i32, mc: i32, k0: i32, kc: i32, dst: usize): void {
  const rs = pi(p, A_RS);
  const cs = pi(p, A_CS);
  const split = pi(p, A_SPLIT);
  const ptr = <usize> pi(p, A_PTR);
  const sliver = aSliver(kc);
  if (split == 0) {
    packASegment(ptr + (<usize> (aOff + m0 * rs + k0 * cs) << 2), rs, cs, mc, kc, dst, sliver);
    return;
  }
  const img = pi(p, A_IMG);
  const end = k0 + kc;
  for (let k = k0; k < end;) {
    const n = k / split;
    const kk = k - n * split;
    const seg = imin(end - k, split - kk);
    const src = ptr + (<usize> (aOff + n * img + m0 * rs + kk * cs) << 2);
    packASegment(src, rs, cs, mc, seg, dst + (<usize> (k - k0) << 4), sliver);
    k += seg;
  }
}

/** Element offset of column n of a split B operand (the image, then the position in it). */
function bColumn(n: i32, split: i32, cs: i32, img: i32): i32 {
  if (split == 0) return n * cs;
  const i = n / split;
  return i * img + (n - i * split) * cs;
}

// The B panel packB is packing, rows [K0, K0 + KC) x columns [N0, N0 + NC) of the operand
// whose element bOff is at SRC, read by the kind's packer: globals of this thread's own
// instance, so no thread sees another's.
let SRC: usize = 0;
let K0 = 0;
let KC = 0;
let N0 = 0;
let NC = 0;

/** Packs B rows [k0, k0+kc) x cols [n0, n0+nc) into 8-column slivers [k][8], by operand kind. */
export function packB(
  p: usize,
  bOff: i32,
  k0: i32,
  kc: i32,
  n0: i32,
  nc: i32,
  dst: usize,
  tmp: usize,
): void {
  SRC = <usize> pi(p, B_PTR) + (<usize> bOff << 2);
  K0 = k0;
  KC = kc;
  N0 = n0;
  NC = nc;
  const kind = pi(p, B_KIND);
  if (kind == KIND_STRIDED) packBStrided(p, dst, tmp);
  else if (kind == KIND_IM2COL) packBIm2col(p, dst, tmp);
  else packBIm2colT(p, dst, tmp);
}

/**
 * Packs a strided B panel. Row-major sources go in blocks of 8 rows across all slivers: from an
 * 18 MB source (the output gradient a conv's grad-input packs) that took 1.12 ns per float
 * against 1.34 sliver by sliver and 1.3 row by row; cache-resident sources pack at 0.4-0.6 either
 * way. With a split n, a sliver that straddles two images goes column by column; `tmp` holds the
 * slivers' source offsets.
 */
function packBStrided(p: usize, dst: usize, tmp: usize): void {
  const rs = pi(p, B_RS);
  const cs = pi(p, B_CS);
  const split = pi(p, B_SPLIT);
  const img = pi(p, B_IMG);
  const ptr = SRC + (<usize> (K0 * rs) << 2);
  const rsb = <usize> rs << 2;
  const csb = <usize> cs << 2;
  const slivers = (NC + 7) >> 3;
  const sliverBytes = bSliver(KC);
  // Offset of each sliver's first column, or -1 when its 8 columns are not one unit-stride run.
  for (let s = 0; s < slivers; s++) {
    const n = N0 + (s << 3);
    const cols = imin(8, NC - (s << 3));
    const run = cols == 8 && (split == 0 || (n % split) + 8 <= split);
    store<i32>(tmp + (<usize> s << 2), run ? bColumn(n, split, cs, img) : -1);
  }
  if (cs == 1) {
    // Blocks of 8 rows: the source rows' pages and the slivers' destinations both stay few.
    for (let k1 = 0; k1 < KC; k1 += 8) {
      const k2 = imin(KC, k1 + 8);
      for (let s = 0; s < slivers; s++) {
        const off = load<i32>(tmp + (<usize> s << 2));
        let d = dst + <usize> s * sliverBytes + (<usize> k1 << 5);
        for (let k = k1; k < k2; k++) {
          const row = ptr + <usize> k * rsb;
          if (off >= 0) {
            const from = row + (<usize> off << 2);
            v128.store(d, v128.load(from));
            v128.store(d, v128.load(from, 16), 16);
          } else {
            packColumns(row, N0 + (s << 3), NC - (s << 3), split, cs, img, d);
          }
          d += 32;
        }
      }
    }
    return;
  }
  for (let s = 0; s < slivers; s++) {
    const off = load<i32>(tmp + (<usize> s << 2));
    let d = dst + <usize> s * sliverBytes;
    let k = 0;
    if (off >= 0 && rs == 1) {
      const src = ptr + (<usize> off << 2);
      for (; k + 4 <= KC; k += 4) {
        transpose8(src + (<usize> k << 2), csb, d);
        d += 128;
      }
    }
    for (; k < KC; k++) {
      packColumns(ptr + <usize> k * rsb, N0 + (s << 3), NC - (s << 3), split, cs, img, d);
      d += 32;
    }
  }
}

/** One k row of a sliver, column by column (ragged or image-straddling slivers). */
function packColumns(row: usize, n: i32, left: i32, split: i32, cs: i32, img: i32, d: usize): void {
  for (let t = 0; t < 8; t++) {
    const v = t < left ? load<f32>(row + (<usize> bColumn(n + t, split, cs, img) << 2)) : <f32> 0;
    store<f32>(d + (<usize> t << 2), v);
  }
}

/** B = the im2col matrix (rows ck, columns p): builds each row once, scatters it to slivers. */
function packBIm2col(p: usize, dst: usize, tmp: usize): void {
  const ncr = (NC + 7) & ~7;
  if (ncr > NC) zeroF32(tmp + (<usize> NC << 2), ncr - NC);
  const sliver = bSliver(KC);
  for (let k = 0; k < KC; k++) {
    im2colRow(p, SRC, K0 + k, N0, NC, tmp);
    let d = dst + (<usize> k << 5);
    for (let j = 0; j < ncr; j += 8) {
      const s = tmp + (<usize> j << 2);
      v128.store(d, v128.load(s));
      v128.store(d, v128.load(s, 16), 16);
      d += sliver;
    }
  }
}

/** B = the transposed im2col matrix (rows p, columns ck): builds 8 columns, transposes them. */
function packBIm2colT(p: usize, dst: usize, tmp: usize): void {
  const kcr = (KC + 3) & ~3;
  const row = <usize> kcr << 2;
  for (let j = 0; j < NC; j += 8) {
    const cols = imin(8, NC - j);
    let d = dst + <usize> (j >> 3) * bSliver(KC);
    for (let t = 0; t < 8; t++) {
      const r = tmp + <usize> t * row;
      if (t < cols) {
        im2colRow(p, SRC, N0 + j + t, K0, KC, r);
        if (kcr > KC) zeroF32(r + (<usize> KC << 2), kcr - KC);
      } else {
        zeroF32(r, kcr);
      }
    }
    let k = 0;
    for (; k + 4 <= KC; k += 4) {
      transpose8(tmp + (<usize> k << 2), row, d);
      d += 128;
    }
    for (; k < KC; k++) {
      const s = tmp + (<usize> k << 2);
      for (let t = 0; t < 8; t++) store<f32>(d + (<usize> t << 2), load<f32>(s + <usize> t * row));
      d += 32;
    }
  }
}
