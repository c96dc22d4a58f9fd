//! common
// Convolution family: NCHW activations, OIHW weights, PyTorch arithmetic, any stride, padding,
// dilation and groups.
//
// The three dense passes are implicit GEMMs, C[m][n] = sum_k A[k][m] * B[k][n], where A is never
// materialised: each workgroup stages a TK x BM slice of A and a TK x BN slice of B in workgroup
// memory, then every invocation accumulates a TM x TN register tile (TM/4 vec4 reads of A and
// TN/4 vec4 reads of B per k feed TM*TN FMAs). On Mesa's llvmpipe each invocation's memory read
// costs about as much as dozens of FMAs, so the register tile is large and the tile code is
// generated fully unrolled by gpu/webgpu/conv-tile.ts (the ACC_DECL, ACC_STEP, ACC_STORE defines).
//   forward:    m = output pixel, n = output channel, k = (c, ky, kx)   A = im2col(x), B = packed w
//   gradInput:  m = input pixel,  n = input channel,  k = (o, ky, kx)   A = strided gather of gy
//   gradWeight: m = (c, ky, kx),  n = output channel, k = output pixel  A = im2col(x), B = gy
// gradWeight splits k over workgroups (z) into partial sums that `splitSum` adds.
// Depthwise convolutions (groups == C == O) use the direct kernels of depthwise.wgsl.
//
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

//! kernel pack
// Weights as a k-major GEMM operand, zero-padded to whole tiles so staging needs no bounds checks:
// out[g][k][n] = w[g * gStride + (k / khw) * kStride + k % khw + n * nStride]. Runs once per
// call over a small tensor, so plain integer division is fine here.
struct Params {
  total: u32, kg: i32, ng: i32, kpad: i32,
  npad: i32, khw: i32, gStride: i32, kStride: i32,
  nStride: i32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid, {{WG_SIZE}}u);
  if (i >= P.total) {
    return;
  }
  let row = i32(i) / P.npad;
  let n = i32(i) % P.npad;
  let g = row / P.kpad;
  let k = row % P.kpad;
  let ok = k < P.kg && n < P.ng;
  let src = g * P.gStride + (k / P.khw) * P.kStride + k % P.khw + n * P.nStride;
  Out[i] = select(0.0, Wt[select(0, src, ok)], ok);
}

//! kernel forward
struct Params {
  m: i32, ohw: i32, ow: i32, c: i32,
  h: i32, w: i32, cg: i32, og: i32,
  o: i32, kg: i32, kpad: i32, npad4: i32,
  khw: i32, kw: i32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  invOhw: f32, invOw: f32, invKhw: f32, invKw: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
var<workgroup> As: array<vec4<f32>, {{A_ITEMS}}>;
var<workgroup> Bs: array<vec4<f32>, {{B_ITEMS}}>;
var<private> group: i32;

// Where output pixel m of channel n (within the group) goes, or -1 past the last pixel.
fn rowBase(m: i32, n: i32) -> i32 {
  let p = divmod(m, P.ohw, P.invOhw);
  return select(-1, (p.q * P.o + group * P.og + n) * P.ohw + p.r, m < P.m);
}
fn nCount() -> i32 {
  return P.og;
}
fn nStride() -> i32 {
  return P.ohw;
}

fn xAt(base: vec4<i32>, iy: vec4<i32>, ix: vec4<i32>, ok: vec4<bool>) -> vec4<f32> {
  let inside = ok & (iy >= vec4<i32>(0)) & (iy < vec4<i32>(P.h)) & (ix >= vec4<i32>(0)) &
    (ix < vec4<i32>(P.w));
  let idx = select(vec4<i32>(0), base + iy * P.w + ix, inside);
  let v = vec4<f32>(X[idx.x], X[idx.y], X[idx.z], X[idx.w]);
  return select(vec4<f32>(0.0), v, inside);
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let l = i32(lid);
  let lx = l % {{GX}};
  let ly = l / {{GX}};
  let m0 = i32(wid.x) * {{BM}};
  let n0 = i32(wid.y) * {{BN}};
  group = i32(wid.z);
  // This invocation always stages the same quad of output pixels: decode them once.
  let quad = l % {{BM4}};
  let row0 = l / {{BM4}};
  let pix = vec4<i32>(m0 + quad * 4) + vec4<i32>(0, 1, 2, 3);
  let pixOk = pix < vec4<i32>(P.m);
  let nr = divmod4(min(pix, vec4<i32>(P.m - 1)), P.ohw, P.invOhw);
  let yx = divmod4(nr.r, P.ow, P.invOw);
  let base = (nr.q * P.c + group * P.cg) * (P.h * P.w);
  let iy0 = yx.q * P.strideH - P.padH;
  let ix0 = yx.r * P.strideW - P.padW;
  {{ACC_DECL}}
  for (var k0 = 0; k0 < P.kpad; k0 += {{TK}}) {
    for (var s = 0; s < {{A_PASSES}}; s++) {
      let kk = row0 + s * {{A_ROWS}};
      let k = k0 + kk;
      let ck = divmod(k, P.khw, P.invKhw);
      let yxk = divmod(ck.r, P.kw, P.invKw);
      let ok = pixOk & vec4<bool>(k < P.kg);
      As[kk * {{BM4}} + quad] = xAt(base + ck.q * (P.h * P.w), iy0 + yxk.q * P.dilH,
        ix0 + yxk.r * P.dilW, ok);
    }
    for (var s = 0; s < {{B_PASSES}}; s++) {
      let t = l + s * {{WG_SIZE}};
      if (t < {{B_ITEMS}}) {
        let kk = t / {{BN4}};
        Bs[t] = Wp[(group * P.kpad + k0 + kk) * P.npad4 + n0 / 4 + t % {{BN4}}];
      }
    }
    workgroupBarrier();
    for (var kk = 0; kk < {{TK}}; kk++) {
      {{ACC_STEP}}
    }
    workgroupBarrier();
  }
  {{ACC_STORE}}
}

//! kernel gradInput
struct Params {
  m: i32, hw: i32, w: i32, h: i32,
  o: i32, og: i32, cg: i32, c: i32,
  oh: i32, ow: i32, kg: i32, kpad: i32,
  npad4: i32, khw: i32, kw: i32, strideH: i32,
  strideW: i32, padH: i32, padW: i32, dilH: i32,
  dilW: i32, invHw: f32, invW: f32, invKhw: f32,
  invKw: f32, invStrideH: f32, invStrideW: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
var<workgroup> As: array<vec4<f32>, {{A_ITEMS}}>;
var<workgroup> Bs: array<vec4<f32>, {{B_ITEMS}}>;
var<private> group: i32;

// Where input pixel m of channel n (within the group) goes, or -1 past the last pixel.
fn rowBase(m: i32, n: i32) -> i32 {
  let p = divmod(m, P.hw, P.invHw);
  return select(-1, (p.q * P.c + group * P.cg + n) * P.hw + p.r, m < P.m);
}
fn nCount() -> i32 {
  return P.cg;
}
fn nStride() -> i32 {
  return P.hw;
}

struct Tap {
  pos: vec4<i32>,
  ok: vec4<bool>,
}

// The output coordinate that padded input coordinate t reaches through one kernel tap, if any:
// t must sit on the stride grid and inside the output.
fn tap(t: vec4<i32>, stride: i32, inv: f32, size: i32) -> Tap {
  let d = divmod4(max(t, vec4<i32>(0)), stride, inv);
  return Tap(d.q, (t >= vec4<i32>(0)) & (d.r == vec4<i32>(0)) & (d.q < vec4<i32>(size)));
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let l = i32(lid);
  let lx = l % {{GX}};
  let ly = l / {{GX}};
  let m0 = i32(wid.x) * {{BM}};
  let n0 = i32(wid.y) * {{BN}};
  group = i32(wid.z);
  // This invocation always stages the same quad of input pixels: decode them once.
  let quad = l % {{BM4}};
  let row0 = l / {{BM4}};
  let pix = vec4<i32>(m0 + quad * 4) + vec4<i32>(0, 1, 2, 3);
  let pixOk = pix < vec4<i32>(P.m);
  let nr = divmod4(min(pix, vec4<i32>(P.m - 1)), P.hw, P.invHw);
  let yx = divmod4(nr.r, P.w, P.invW);
  let base = (nr.q * P.o + group * P.og) * (P.oh * P.ow);
  let ty0 = yx.q + P.padH;
  let tx0 = yx.r + P.padW;
  {{ACC_DECL}}
  for (var k0 = 0; k0 < P.kpad; k0 += {{TK}}) {
    for (var s = 0; s < {{A_PASSES}}; s++) {
      let kk = row0 + s * {{A_ROWS}};
      let k = k0 + kk;
      let ot = divmod(k, P.khw, P.invKhw);
      let yxk = divmod(ot.r, P.kw, P.invKw);
      let ty = tap(ty0 - yxk.q * P.dilH, P.strideH, P.invStrideH, P.oh);
      let tx = tap(tx0 - yxk.r * P.dilW, P.strideW, P.invStrideW, P.ow);
      let inside = pixOk & vec4<bool>(k < P.kg) & ty.ok & tx.ok;
      let idx = select(vec4<i32>(0), base + ot.q * (P.oh * P.ow) + ty.pos * P.ow + tx.pos, inside);
      let v = vec4<f32>(G[idx.x], G[idx.y], G[idx.z], G[idx.w]);
      As[kk * {{BM4}} + quad] = select(vec4<f32>(0.0), v, inside);
    }
    for (var s = 0; s < {{B_PASSES}}; s++) {
      let t = l + s * {{WG_SIZE}};
      if (t < {{B_ITEMS}}) {
        let kk = t / {{BN4}};
        Bs[t] = Wp[(group * P.kpad + k0 + kk) * P.npad4 + n0 / 4 + t % {{BN4}}];
      }
    }
    workgroupBarrier();
    for (var kk = 0; kk < {{TK}}; kk++) {
      {{ACC_STEP}}
    }
    workgroupBarrier();
  }
  {{ACC_STORE}}
}

//! kernel gradWeight
struct Params {
  m: i32, pixels: i32, perSplit: i32, splits: i32,
  ohw: i32, ow: i32, c: i32, h: i32,
  w: i32, cg: i32, og: i32, o: i32,
  khw: i32, kw: i32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  invOhw: f32, invOw: f32, invKhw: f32, invKw: f32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
var<workgroup> As: array<vec4<f32>, {{A_ITEMS}}>;
var<workgroup> Bs: array<vec4<f32>, {{B_ITEMS}}>;
var<private> group: i32;
var<private> split: i32;

// Where the partial sum of weight column m (c, ky, kx) of filter n goes; -1 past the last column.
fn rowBase(m: i32, n: i32) -> i32 {
  return select(-1, (split * P.o + group * P.og + n) * P.m + m, m < P.m);
}
fn nCount() -> i32 {
  return P.og;
}
fn nStride() -> i32 {
  return P.m;
}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let l = i32(lid);
  let lx = l % {{GX}};
  let ly = l / {{GX}};
  let m0 = i32(wid.x) * {{BM}};
  let n0 = i32(wid.y) * {{BN}};
  group = i32(wid.z) / P.splits;
  split = i32(wid.z) - group * P.splits;
  let kBegin = split * P.perSplit;
  let kEnd = min(kBegin + P.perSplit, P.pixels);
  // This invocation always stages the same quad of weight columns (c, ky, kx): decode them once.
  let quad = l % {{BM4}};
  let row0 = l / {{BM4}};
  let col = vec4<i32>(m0 + quad * 4) + vec4<i32>(0, 1, 2, 3);
  let colOk = col < vec4<i32>(P.m);
  let ck = divmod4(min(col, vec4<i32>(P.m - 1)), P.khw, P.invKhw);
  let yxk = divmod4(ck.r, P.kw, P.invKw);
  let colBase = (group * P.cg + ck.q) * (P.h * P.w);
  let dy = yxk.q * P.dilH - P.padH;
  let dx = yxk.r * P.dilW - P.padW;
  {{ACC_DECL}}
  for (var k0 = kBegin; k0 < kEnd; k0 += {{TK}}) {
    for (var s = 0; s < {{A_PASSES}}; s++) {
      let kk = row0 + s * {{A_ROWS}};
      let p = k0 + kk;
      let nr = divmod(p, P.ohw, P.invOhw);
      let yx = divmod(nr.r, P.ow, P.invOw);
      let iy = vec4<i32>(yx.q * P.strideH) + dy;
      let ix = vec4<i32>(yx.r * P.strideW) + dx;
      let inside = colOk & vec4<bool>(p < kEnd) & (iy >= vec4<i32>(0)) &
        (iy < vec4<i32>(P.h)) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(P.w));
      let idx = select(vec4<i32>(0), vec4<i32>(nr.q * P.c * P.h * P.w) + colBase + iy * P.w + ix,
        inside);
      let v = vec4<f32>(X[idx.x], X[idx.y], X[idx.z], X[idx.w]);
      As[kk * {{BM4}} + quad] = select(vec4<f32>(0.0), v, inside);
    }
    for (var s = 0; s < {{B_PASSES}}; s++) {
      let t = l + s * {{WG_SIZE}};
      if (t < {{B_ITEMS}}) {
        let kk = t / {{BN4}};
        let p = k0 + kk;
        let nr = divmod(p, P.ohw, P.invOhw);
        let o = vec4<i32>(n0 + (t % {{BN4}}) * 4) + vec4<i32>(0, 1, 2, 3);
        let inside = (o < vec4<i32>(P.og)) & vec4<bool>(p < kEnd);
        let idx = select(vec4<i32>(0), (nr.q * P.o + group * P.og + o) * P.ohw + nr.r, inside);
        let v = vec4<f32>(G[idx.x], G[idx.y], G[idx.z], G[idx.w]);
        Bs[t] = select(vec4<f32>(0.0), v, inside);
      }
    }
    workgroupBarrier();
    for (var kk = 0; kk < {{TK}}; kk++) {
      {{ACC_STEP}}
    }
    workgroupBarrier();
  }
  {{ACC_STORE}}
}

//! kernel splitSum
struct Params { n: u32, splits: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = linearIndex(wid, nwg, lid, {{WG_SIZE}}u);
  if (i >= P.n) {
    return;
  }
  var acc = 0.0;
  for (var s = 0u; s < P.splits; s++) {
    acc += Partial[s * P.n + i];
  }
  Out[i] = acc;
}
