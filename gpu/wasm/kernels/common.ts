/** Helpers every kernel file shares: parameter reads and work distribution. */

import { COUNTER, WS_BYTES, WS_PTR } from "./slots";

/** The i-th 32-bit integer of a parameter block. */
export function pi(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize> i << 2));
}

/** The i-th slot of a parameter block read as f32. */
export function pf(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize> i << 2));
}

/** Thread `tid`'s slice of the per-thread workspace the host allocated. */
export function workspace(p: usize, tid: i32): usize {
  return <usize> pi(p, WS_PTR) + <usize> tid * <usize> pi(p, WS_BYTES);
}

/** Claims the next work item; threads pull items until the count runs out (load balance). */
export function claim(p: usize, slot: i32): i32 {
  return atomic.add<i32>(p + (<usize> slot << 2), 1);
}

/** Start of thread t's share of [0, n) when split into nt near-equal parts. */
export function share(n: i32, t: i32, nt: i32): i32 {
  return <i32> ((<i64> n * <i64> t) / <i64> nt);
}

/** About this many elements of work per claimed group: an atomic add is ~20 ns, this ~2-10 us. */
const GROUP_ELEMENTS: i32 = 8192;

/**
 * Items per claimed group for items of `elementsPerItem` elements: about GROUP_ELEMENTS of
 * work, but at least four groups per thread. Threads pull groups from the work counter
 * ({@link nextGroup}) instead of taking fixed shares, so a thread the OS deschedules on a busy
 * machine delays only the group it holds, not a whole share the others wait for.
 */
export function grain(items: i32, elementsPerItem: i32, nt: i32): i32 {
  const byWork = imax(1, GROUP_ELEMENTS / imax(1, elementsPerItem));
  const byThreads = imax(1, (items + 4 * nt - 1) / (4 * nt));
  return imin(byWork, byThreads);
}

/** {@link grain} for dense element ranges: a multiple of 16, so no vector straddles two groups. */
export function denseGrain(n: i32, nt: i32): i32 {
  return (grain(n, 1, nt) + 15) & ~15;
}

/** First item of the next claimed group of `per` items (>= the item count once all are taken). */
export function nextGroup(p: usize, per: i32): i32 {
  const start = <i64> claim(p, COUNTER) * <i64> per;
  return start > <i64> 0x7fffffff ? 0x7fffffff : <i32> start;
}

export function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

export function imax(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

/**
 * Runs at least this long go to memory.copy / memory.fill, which V8 runs natively (0.05 ns per
 * float plus ~7 ns a call); a bounds-checked vector loop costs ~0.4 ns per float.
 */
const BULK = 32;

/** Writes zeros to n floats. */
export function zeroF32(dst: usize, n: i32): void {
  if (n >= BULK) {
    memory.fill(dst, 0, <usize> n << 2);
    return;
  }
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize> i << 2), 0);
}

/** Copies n floats (or any 32-bit words) between non-overlapping ranges. */
export function copyF32(dst: usize, src: usize, n: i32): void {
  if (n >= BULK) {
    memory.copy(dst, src, <usize> n << 2);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(dst + (<usize> i << 2), v128.load(src + (<usize> i << 2)));
  }
  for (; i < n; i++) store<i32>(dst + (<usize> i << 2), load<i32>(src + (<usize> i << 2)));
}

/** End of the module's static data: the host allocator starts above it. */
export function data_end(): usize {
  return __data_end;
}
