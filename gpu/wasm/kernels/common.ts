/** Helpers every kernel file shares: parameter reads and work distribution. */

/** The i-th 32-bit integer of a parameter block. */
export function pi(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize> i << 2));
}

/** The i-th slot of a parameter block read as f32. */
export function pf(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize> i << 2));
}

/** Claims the next work item; threads pull items until the count runs out (load balance). */
export function claim(p: usize, slot: i32): i32 {
  return atomic.add<i32>(p + (<usize> slot << 2), 1);
}

/** Start of thread t's share of [0, n) when split into nt near-equal parts. */
export function share(n: i32, t: i32, nt: i32): i32 {
  return <i32> ((<i64> n * <i64> t) / <i64> nt);
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
