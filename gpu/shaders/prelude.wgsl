//! snippet index
// Included in every kernel: flat invocation indices and strided views.
fn linearIndex(wid: vec3u, nwg: vec3u, lid: u32, wgSize: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wgSize + lid;
}

// Views of up to 8 dims travel as array<vec4<i32>, 2> uniforms (see gpu/views.ts packDims).
fn dimOf(v: array<vec4<i32>, 2>, d: u32) -> i32 {
  return v[d / 4u][d % 4u];
}

// Flat offset of the i-th element (row-major over shape) of a strided view.
fn viewOffset(i: u32, rank: u32, offset: i32, shape: array<vec4<i32>, 2>,
              stride: array<vec4<i32>, 2>) -> i32 {
  var rest = i32(i);
  var o = offset;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = dimOf(shape, u32(d));
    o += (rest % size) * dimOf(stride, u32(d));
    rest = rest / size;
  }
  return o;
}

//! snippet float-bits
// Special values and NaN tests on the bits: WGSL lets a compiler assume float comparisons never
// see NaN, and naga cannot fold bitcast in constant expressions (so functions, not consts).
fn nanF32() -> f32 {
  return bitcast<f32>(0x7fc00000u);
}

fn negInf() -> f32 {
  return bitcast<f32>(0xff800000u);
}

fn isNanF(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// WGSL's max/min return the other operand when one is NaN; PyTorch's propagate NaN.
fn maxNan(a: f32, b: f32) -> f32 {
  return select(max(a, b), nanF32(), isNanF(a) || isNanF(b));
}

fn minNan(a: f32, b: f32) -> f32 {
  return select(min(a, b), nanF32(), isNanF(a) || isNanF(b));
}

//! snippet sigmoid
// The logistic function without overflow on either side (exp of a non-positive number only).
fn sigmoidf(x: f32) -> f32 {
  if (x >= 0.0) {
    return 1.0 / (1.0 + exp(-x));
  }
  let e = exp(x);
  return e / (1.0 + e);
}

// SiLU's gradient times g, in the order of nn/ops/elementwise.ts's rule.
fn siluGrad(g: f32, x: f32) -> f32 {
  let s = sigmoidf(x);
  return g * (s * (x * (1.0 - s) + 1.0));
}

//! snippet row-exp
// A row's maximum m and sum s of exp(x - m) over X[base .. base + cols): the two passes of a
// stable softmax or log-sum-exp (m + log(s)). Reads the including kernel's X; needs float-bits.
struct RowExp {
  m: f32,
  s: f32,
}

fn rowExp(base: u32, cols: u32) -> RowExp {
  var m = negInf();
  for (var j = 0u; j < cols; j++) {
    m = max(m, X[base + j]);
  }
  var s = 0.0;
  for (var j = 0u; j < cols; j++) {
    s += exp(X[base + j] - m);
  }
  return RowExp(m, s);
}

//! snippet tree
// A workgroup's shared-memory tree reduction: every invocation passes its partial value and gets
// the workgroup's total back, combined by TREE_SUM, TREE_MAX or TREE_MIN (WGSL's max and min).
// Holds barriers, so every invocation must reach the call (uniform control flow).
const TREE_SUM = 0u;
const TREE_MAX = 1u;
const TREE_MIN = 2u;

var<workgroup> partial: array<f32, {{WG_SIZE}}>;

fn treeCombine(op: u32, a: f32, b: f32) -> f32 {
  return select(select(a + b, max(a, b), op == TREE_MAX), min(a, b), op == TREE_MIN);
}

fn treeReduce(lid: u32, v: f32, op: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var stride = {{WG_SIZE}}u / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] = treeCombine(op, partial[lid], partial[lid + stride]);
    }
    workgroupBarrier();
  }
  let total = partial[0];
  // partial may be reused by a next reduction once everyone has read the total.
  workgroupBarrier();
  return total;
}

//! snippet conv-window
// A convolution's sliding-window geometry, the part of conv.wgsl's and depthwise.wgsl's records
// they share (gpu/webgpu/conv-window.ts writes it): 16 words, so it nests in a uniform record.
struct Window {
  c: i32, h: i32, w: i32, oh: i32,
  ow: i32, kh: i32, kw: i32, khw: i32,
  strideH: i32, strideW: i32, padH: i32, padW: i32,
  dilH: i32, dilW: i32, invStrideH: f32, invStrideW: f32,
}

//! snippet divmod
// Integer division by runtime values would be scalarised per SIMD lane, so quotients come from a
// float reciprocal plus one correction step (exact for 0 <= a < 2^24; the host checks sizes).
struct QR {
  q: i32,
  r: i32,
}

struct QR4 {
  q: vec4<i32>,
  r: vec4<i32>,
}

fn divmod(a: i32, b: i32, inv: f32) -> QR {
  let q0 = i32(f32(a) * inv);
  let r0 = a - q0 * b;
  let q = q0 - select(0, 1, r0 < 0) + select(0, 1, r0 >= b);
  return QR(q, a - q * b);
}

fn divmod4(a: vec4<i32>, b: i32, inv: f32) -> QR4 {
  let q0 = vec4<i32>(vec4<f32>(a) * inv);
  let r0 = a - q0 * b;
  let q = q0 - select(vec4<i32>(0), vec4<i32>(1), r0 < vec4<i32>(0)) +
    select(vec4<i32>(0), vec4<i32>(1), r0 >= vec4<i32>(b));
  return QR4(q, a - q * b);
}

//! snippet half-round
// Rounds to the nearest IEEE half value, held in an f32: nearest even, overflow to infinity,
// subnormals and NaN kept. The f16 operand precision of the GEMM family (gpu/types.ts
// GemmPrecision) works on the bits, so no adapter's own f16 conversion (WGSL leaves
// infinities and subnormals to the implementation) decides what the loss scaler sees.
fn roundHalf(x: f32) -> f32 {
  let bits = bitcast<u32>(x);
  let mag = bits & 0x7fffffffu;
  let sign = bits & 0x80000000u;
  if (mag >= 0x7f800000u) {
    return x;
  }
  if (mag >= 0x477ff000u) {
    return bitcast<f32>(sign | 0x7f800000u);
  }
  if (mag < 0x38800000u) {
    // Below 2^-14 a half is a multiple of 2^-24; both scalings are exact, round() ties to even.
    let units = round(bitcast<f32>(mag) * 16777216.0);
    return bitcast<f32>(sign | bitcast<u32>(units * 5.9604644775390625e-8));
  }
  return bitcast<f32>(sign | ((mag + 0xfffu + ((mag >> 13u) & 1u)) & 0xffffe000u));
}

fn roundHalf4(v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(roundHalf(v.x), roundHalf(v.y), roundHalf(v.z), roundHalf(v.w));
}
