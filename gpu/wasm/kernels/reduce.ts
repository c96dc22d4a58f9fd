/**
 * Sum / max / min over any set of axes. The host splits the axes into kept dims (the output,
 * EW_SHAPE / EW_ASTR) and reduced dims (RD_SHAPE / RD_STR), each collapsed. Two vector plans:
 * a contiguous innermost reduced dim (row sums, spatial means) reduces along it; a contiguous
 * innermost kept dim (sums over the batch axis) accumulates whole output runs at once.
 * max/min skip NaNs like the reference's `v > acc ? v : acc`.
 */

import {
  EW_A,
  EW_ASTR,
  EW_OP,
  EW_OUT,
  EW_RANK,
  EW_SHAPE,
  R_MAX,
  R_SUM,
  RD_RANK,
  RD_SHAPE,
  RD_STR,
} from "./slots";
import { grain, imin, nextGroup, pi } from "./common";
import { at } from "./strided";

function initial(op: i32): f32 {
  return op == R_SUM ? 0 : op == R_MAX ? -Infinity : Infinity;
}

function combine(op: i32, acc: f32, v: f32): f32 {
  if (op == R_SUM) return acc + v;
  if (op == R_MAX) return v > acc ? v : acc;
  return v < acc ? v : acc;
}

function combineV(op: i32, acc: v128, v: v128): v128 {
  if (op == R_SUM) return f32x4.add(acc, v);
  if (op == R_MAX) return f32x4.pmax(acc, v);
  return f32x4.pmin(acc, v);
}

function horizontal(op: i32, v: v128): f32 {
  let r = f32x4.extract_lane(v, 0);
  r = combine(op, r, f32x4.extract_lane(v, 1));
  r = combine(op, r, f32x4.extract_lane(v, 2));
  return combine(op, r, f32x4.extract_lane(v, 3));
}

/** Offset of index `i` decomposed over `rank` dims at (shapeSlot, strideSlot). */
function offsetOf(p: usize, i: i32, rank: i32, shapeSlot: i32, strideSlot: i32): i32 {
  let off = 0;
  let q = i;
  for (let d = rank - 1; d >= 0; d--) {
    const n = pi(p, shapeSlot + d);
    const k = q % n;
    q /= n;
    off += k * pi(p, strideSlot + d);
  }
  return off;
}

function product(p: usize, slot: i32, rank: i32): i32 {
  let n = 1;
  for (let d = 0; d < rank; d++) n *= pi(p, slot + d);
  return n;
}

/** Reduces a contiguous run of `len` floats. */
function reduceRun(op: i32, src: usize, len: i32, acc: f32): f32 {
  let j = 0;
  if (len >= 8) {
    let v0 = f32x4.splat(initial(op));
    let v1 = v0;
    for (; j + 8 <= len; j += 8) {
      const o = <usize> j << 2;
      v0 = combineV(op, v0, v128.load(src + o));
      v1 = combineV(op, v1, v128.load(src + o, 16));
    }
    acc = combine(op, acc, horizontal(op, combineV(op, v0, v1)));
  }
  for (; j < len; j++) acc = combine(op, acc, load<f32>(src + (<usize> j << 2)));
  return acc;
}

export function reduce_task(p: usize, tid: i32, nt: i32): void {
  const op = pi(p, EW_OP);
  const x = <usize> pi(p, EW_A);
  const out = <usize> pi(p, EW_OUT);
  const kr = pi(p, EW_RANK);
  const rr = pi(p, RD_RANK);
  const outputs = product(p, EW_SHAPE, kr);
  const reduced = product(p, RD_SHAPE, rr);
  const rInner = rr > 0 ? pi(p, RD_SHAPE + rr - 1) : 1;
  const rStride = rr > 0 ? pi(p, RD_STR + rr - 1) : 0;
  const kInner = kr > 0 ? pi(p, EW_SHAPE + kr - 1) : 1;
  const kStride = kr > 0 ? pi(p, EW_ASTR + kr - 1) : 0;
  const init = initial(op);
  if (rr > 0 && rStride == 1) {
    // Reduce along contiguous rows of the innermost reduced dim.
    const rows = reduced / rInner;
    const per = grain(outputs, reduced, nt);
    for (let g = nextGroup(p, per); g < outputs; g = nextGroup(p, per)) {
      const end = imin(outputs, g + per);
      for (let o = g; o < end; o++) {
        const base = offsetOf(p, o, kr, EW_SHAPE, EW_ASTR);
        let acc = init;
        for (let r = 0; r < rows; r++) {
          const ro = offsetOf(p, r, rr - 1, RD_SHAPE, RD_STR);
          acc = reduceRun(op, at(x, base + ro), rInner, acc);
        }
        store<f32>(out + (<usize> o << 2), acc);
      }
    }
    return;
  }
  if (kr > 0 && kStride == 1 && kInner >= 4) {
    // Accumulate blocks of contiguous outputs over every reduced element.
    const block = 64;
    const blocksPerRow = (kInner + block - 1) / block;
    const items = (outputs / kInner) * blocksPerRow;
    const per = grain(items, block * reduced, nt);
    for (let g = nextGroup(p, per); g < items; g = nextGroup(p, per)) {
      const end = imin(items, g + per);
      for (let item = g; item < end; item++) {
        const orow = item / blocksPerRow;
        const j0 = (item - orow * blocksPerRow) * block;
        const len = imin(block, kInner - j0);
        const o0 = orow * kInner + j0;
        const base = offsetOf(p, o0, kr, EW_SHAPE, EW_ASTR);
        const dst = out + (<usize> o0 << 2);
        const iv = f32x4.splat(init);
        let j = 0;
        for (; j + 4 <= len; j += 4) v128.store(dst + (<usize> j << 2), iv);
        for (; j < len; j++) store<f32>(dst + (<usize> j << 2), init);
        for (let r = 0; r < reduced; r++) {
          const src = at(x, base + offsetOf(p, r, rr, RD_SHAPE, RD_STR));
          j = 0;
          for (; j + 4 <= len; j += 4) {
            const o = <usize> j << 2;
            v128.store(dst + o, combineV(op, v128.load(dst + o), v128.load(src + o)));
          }
          for (; j < len; j++) {
            const o = <usize> j << 2;
            store<f32>(dst + o, combine(op, load<f32>(dst + o), load<f32>(src + o)));
          }
        }
      }
    }
    return;
  }
  const per = grain(outputs, reduced, nt);
  for (let g = nextGroup(p, per); g < outputs; g = nextGroup(p, per)) {
    const end = imin(outputs, g + per);
    for (let o = g; o < end; o++) {
      const base = offsetOf(p, o, kr, EW_SHAPE, EW_ASTR);
      let acc = init;
      for (let r = 0; r < reduced; r++) {
        acc = combine(op, acc, load<f32>(at(x, base + offsetOf(p, r, rr, RD_SHAPE, RD_STR))));
      }
      store<f32>(out + (<usize> o << 2), acc);
    }
  }
}
