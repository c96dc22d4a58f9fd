/**
 * exp and log in f64 without lookup tables. AssemblyScript's Math.exp/log carry tables as data
 * segments, and a data segment forces the imported memory's declared minimum above 0 pages,
 * which made V8's bounds-checked GEMM micro-kernel 11% slower (28.7 vs 25.8 GFLOP/s per core,
 * README). Accurate to a few f64 ulps, far below the f32 rounding every result then takes.
 */

const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.44269504088896338700e+00;

/** 2^k for integer k in the normal range, built from the exponent bits. */
function pow2(k: i32): f64 {
  return reinterpret<f64>(<i64> (k + 1023) << 52);
}

export function expF64(x: f64): f64 {
  if (x != x) return x;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = <i32> Math.floor(x * INV_LN2 + 0.5);
  const r = (x - <f64> k * LN2_HI) - <f64> k * LN2_LO;
  // Taylor series of e^r for |r| <= ln2 / 2: the degree-13 term is below 2^-60.
  let s: f64 = 1.0 / 6227020800.0;
  s = s * r + 1.0 / 479001600.0;
  s = s * r + 1.0 / 39916800.0;
  s = s * r + 1.0 / 3628800.0;
  s = s * r + 1.0 / 362880.0;
  s = s * r + 1.0 / 40320.0;
  s = s * r + 1.0 / 5040.0;
  s = s * r + 1.0 / 720.0;
  s = s * r + 1.0 / 120.0;
  s = s * r + 1.0 / 24.0;
  s = s * r + 1.0 / 6.0;
  s = s * r + 0.5;
  s = s * r + 1.0;
  s = s * r + 1.0;
  // Split the scale so 2^k never overflows or goes subnormal before the product does.
  if (k > 1000) return s * pow2(1000) * pow2(k - 1000);
  if (k < -1000) return s * pow2(-1000) * pow2(k + 1000);
  return s * pow2(k);
}

export function logF64(x: f64): f64 {
  if (x != x || x < 0) return NaN;
  if (x == 0) return -Infinity;
  if (x == Infinity) return x;
  let bits = reinterpret<i64>(x);
  let e = <i32> (bits >> 52) - 1023;
  if (e == -1023) {
    // Subnormal: normalise first.
    bits = reinterpret<i64>(x * 18014398509481984.0);
    e = <i32> (bits >> 52) - 1023 - 54;
  }
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172: 11 odd terms reach 2^-60.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let t: f64 = 1.0 / 23.0;
  t = t * s2 + 1.0 / 21.0;
  t = t * s2 + 1.0 / 19.0;
  t = t * s2 + 1.0 / 17.0;
  t = t * s2 + 1.0 / 15.0;
  t = t * s2 + 1.0 / 13.0;
  t = t * s2 + 1.0 / 11.0;
  t = t * s2 + 1.0 / 9.0;
  t = t * s2 + 1.0 / 7.0;
  t = t * s2 + 1.0 / 5.0;
  t = t * s2 + 1.0 / 3.0;
  t = t * s2 + 1.0;
  return <f64> e * LN2_HI + (2 * s * t + <f64> e * LN2_LO);
}
