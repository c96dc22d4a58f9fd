//! common
//! include divmod conv-window half-round
// Convolution family: NCHW activations, OIHW weights, PyTorch arithmetic, any stride, padding,
// dilation and groups.
//
// The three dense passes are implicit GEMMs, C[m][n] = sum_k A[k][m] * B[k][n], where A is never
// materialised: each workgroup stages a TK x BM slice of A and a TK x BN slice of B in workgroup
// memory, then every invocation accumulates a TM x TN register tile (TM/4 vec4 reads of A and
// TN/4 vec4 reads of B per k feed TM*TN FMAs). On Mesa's llvmpipe each invocation's memory read
// costs about as much as dozens of FMAs, so the register tile is large and the tile code is
// generated fully unrolled by gpu/webgpu/conv-tile.ts (the ACC_DECL, ACC_STEP, ACC_STORE defines).
// The passes are one template, `gemm`, filled by each pass's blocks:
//   forward:    m = output pixel, n = output channel, k = (c, ky, kx)   A = im2col(x), B = packed w
//   gradInput:  m = input pixel,  n = input channel,  k = (o, ky, kx)   A = strided gather of gy
//   gradWeight: m = (c, ky, kx),  n = output channel, k = output pixel  A = im2col(x), B = gy
// Every block reads one parameter record (gpu/webgpu/conv.ts writes it). gradWeight splits k over
// workgroups (z) into partial sums that `splitSum` adds. Depthwise convolutions (groups == C == O)
// use the direct kernels of depthwise.wgsl.
//
// At the f16 operand precision (gpu/types.ts GemmPrecision) the staged operands (A_STAGED,
// B_STAGED) and the stored result (ACC_STORE, or `splitSum`'s total after a split) are rounded to
// half; TILE is vec4<f16> where the staged tiles may be held in half (conv-tile.ts Rounding).

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

//! main over P.total
  let row = i32(i) / P.npad;
  let n = i32(i) % P.npad;
  let g = row / P.kpad;
  let k = row % P.kpad;
  let ok = k < P.kg && n < P.ng;
  let src = g * P.gStride + (k / P.khw) * P.kStride + k % P.khw + n * P.nStride;
  Out[i] = select(0.0, Wt[select(0, src, ok)], ok);
}

//! template gemm
// Binding 1 is the image A is gathered from (x, or gy for gradInput); a pass's DECLS bind input 2
// (B) and declare its helpers. The template decodes the group, the split, the k range
// [kBegin, kEnd), this invocation's quad of A rows (`rows`) as (rq.q, ryx.q, ryx.r) of the pass's
// rowPlane x rowWidth grid and each staged k as (kq.q, kyx.q, kyx.r) of its kPlane x kWidth grid:
// (image, y, x) or (channel, tap y, tap x). SETUP derives what the rows need; STAGE_A and STAGE_B
// compute `aQuad` (A[k][rows]) and `bQuad` (B[k][4 columns]), which are staged as A_STAGED and
// B_STAGED.
struct Params {
  win: Window,
  m: i32, kg: i32, kpad: i32, npad4: i32,
  cg: i32, o: i32, og: i32, hw: i32,
  ohw: i32, kTotal: i32, perSplit: i32, splits: i32,
  dstC: i32, nCount: i32, nStride: i32, rowPlane: i32,
  rowWidth: i32, kPlane: i32, kWidth: i32, invRowPlane: f32,
  invRowWidth: f32, invKPlane: f32, invKWidth: f32, invNStride: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
{{DECLS}}
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
var<workgroup> As: array<{{TILE}}, {{A_ITEMS}}>;
var<workgroup> Bs: array<{{TILE}}, {{B_ITEMS}}>;
var<private> group: i32;
var<private> split: i32;

// Four values of A at flat indices idx, 0 where not `inside`.
fn gatherA(idx: vec4<i32>, inside: vec4<bool>) -> vec4<f32> {
  let at = select(vec4<i32>(0), idx, inside);
  return select(vec4<f32>(0.0), vec4<f32>(A[at.x], A[at.y], A[at.z], A[at.w]), inside);
}

// Pixels (iy, ix) of the input planes at `base`, 0 in the padding (forward and gradWeight).
fn imageAt(base: vec4<i32>, iy: vec4<i32>, ix: vec4<i32>, ok: vec4<bool>) -> vec4<f32> {
  let inside = ok & (iy >= vec4<i32>(0)) & (iy < vec4<i32>(P.win.h)) & (ix >= vec4<i32>(0)) &
    (ix < vec4<i32>(P.win.w));
  return gatherA(base + iy * P.win.w + ix, inside);
}

// Output (m, n) of the GEMM lives at row n of plane (m / nStride + split) of an NCHW-like output
// of dstC channels, nCount of them per group; -1 past the last row (see conv-tile.ts's stores).
// An image pass has nStride = pixels per image; gradWeight has nStride = m, so its split (the slice
// of the pixel sum) picks its own copy of the weight gradient.
fn rowBase(m: i32, n: i32) -> i32 {
  let p = divmod(m, P.nStride, P.invNStride);
  return select(-1, ((p.q + split) * P.dstC + group * P.nCount + n) * P.nStride + p.r, m < P.m);
}
fn nCount() -> i32 {
  return P.nCount;
}
fn nStride() -> i32 {
  return P.nStride;
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
  let kEnd = min(kBegin + P.perSplit, P.kTotal);
  // This invocation always stages the same quad of A rows: they are decoded once.
  let quad = l % {{BM4}};
  let row0 = l / {{BM4}};
  let rows = vec4<i32>(m0 + quad * 4) + vec4<i32>(0, 1, 2, 3);
  let rowOk = rows < vec4<i32>(P.m);
  let rq = divmod4(min(rows, vec4<i32>(P.m - 1)), P.rowPlane, P.invRowPlane);
  let ryx = divmod4(rq.r, P.rowWidth, P.invRowWidth);
  {{SETUP}}
  {{ACC_DECL}}
  // kt is the k slice this iteration stages, k0 the one it multiplies: the same slice, or with
  // prefetch (LAG = TK) the previous one, whose registers are stored first so the next slice's
  // loads overlap the multiply-adds. The branches on LAG are constant and compile away.
  const LAG = {{LAG}};
  var pa: array<{{TILE}}, {{A_PASSES}}>;
  var pb: array<{{TILE}}, {{B_PASSES}}>;
  for (var kt = kBegin; kt < kEnd + LAG; kt += {{TK}}) {
    let k0 = kt - LAG;
    if (LAG != 0) {
      if (k0 >= kBegin) {
        for (var s = 0; s < {{A_PASSES}}; s++) {
          As[(row0 + s * {{A_ROWS}}) * {{BM4}} + quad] = pa[s];
        }
        for (var s = 0; s < {{B_PASSES}}; s++) {
          let t = l + s * {{WG_SIZE}};
          if (t < {{B_ITEMS}}) {
            Bs[t] = pb[s];
          }
        }
      }
      workgroupBarrier();
    }
    if (LAG == 0 || kt < kEnd) {
      for (var s = 0; s < {{A_PASSES}}; s++) {
        let kk = row0 + s * {{A_ROWS}};
        let k = kt + kk;
        let kq = divmod(k, P.kPlane, P.invKPlane);
        let kyx = divmod(kq.r, P.kWidth, P.invKWidth);
        {{STAGE_A}}
        if (LAG == 0) {
          As[kk * {{BM4}} + quad] = {{A_STAGED}};
        } else {
          pa[s] = {{A_STAGED}};
        }
      }
      for (var s = 0; s < {{B_PASSES}}; s++) {
        let t = l + s * {{WG_SIZE}};
        if (t < {{B_ITEMS}}) {
          let kk = t / {{BN4}};
          {{STAGE_B}}
          if (LAG == 0) {
            Bs[t] = {{B_STAGED}};
          } else {
            pb[s] = {{B_STAGED}};
          }
        }
      }
    }
    if (LAG == 0) {
      workgroupBarrier();
    }
    if (LAG == 0 || k0 >= kBegin) {
      for (var kk = 0; kk < {{TK}}; kk++) {
        {{ACC_STEP}}
      }
    }
    workgroupBarrier();
  }
  {{ACC_STORE}}
}

//! kernel forward uses gemm
//! block DECLS
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;
//! block SETUP
let base = (rq.q * P.win.c + group * P.cg) * P.hw;
  let iy0 = ryx.q * P.win.strideH - P.win.padH;
  let ix0 = ryx.r * P.win.strideW - P.win.padW;
//! block STAGE_A
let ok = rowOk & vec4<bool>(k < P.kg);
      let aQuad = imageAt(base + kq.q * P.hw, iy0 + kyx.q * P.win.dilH, ix0 + kyx.r * P.win.dilW, ok);
//! block STAGE_B
let bQuad = Wp[(group * P.kpad + kt + kk) * P.npad4 + n0 / 4 + t % {{BN4}}];

//! kernel gradInput uses gemm
//! block DECLS
@group(0) @binding(2) var<storage, read> Wp: array<vec4<f32>>;

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
//! block SETUP
let base = (rq.q * P.o + group * P.og) * P.ohw;
  let ty0 = ryx.q + P.win.padH;
  let tx0 = ryx.r + P.win.padW;
//! block STAGE_A
let ty = tap(ty0 - kyx.q * P.win.dilH, P.win.strideH, P.win.invStrideH, P.win.oh);
      let tx = tap(tx0 - kyx.r * P.win.dilW, P.win.strideW, P.win.invStrideW, P.win.ow);
      let inside = rowOk & vec4<bool>(k < P.kg) & ty.ok & tx.ok;
      let aQuad = gatherA(base + kq.q * P.ohw + ty.pos * P.win.ow + tx.pos, inside);
//! block STAGE_B
let bQuad = Wp[(group * P.kpad + kt + kk) * P.npad4 + n0 / 4 + t % {{BN4}}];

//! kernel gradWeight uses gemm
//! block DECLS
@group(0) @binding(2) var<storage, read> G: array<f32>;
//! block SETUP
let colBase = (group * P.cg + rq.q) * P.hw;
  let dy = ryx.q * P.win.dilH - P.win.padH;
  let dx = ryx.r * P.win.dilW - P.win.padW;
//! block STAGE_A
let iy = vec4<i32>(kyx.q * P.win.strideH) + dy;
      let ix = vec4<i32>(kyx.r * P.win.strideW) + dx;
      let ok = rowOk & vec4<bool>(k < kEnd);
      let aQuad = imageAt(vec4<i32>(kq.q * P.win.c * P.hw) + colBase, iy, ix, ok);
//! block STAGE_B
let p = kt + kk;
        let nr = divmod(p, P.kPlane, P.invKPlane);
        let o = vec4<i32>(n0 + (t % {{BN4}}) * 4) + vec4<i32>(0, 1, 2, 3);
        let inside = (o < vec4<i32>(P.og)) & vec4<bool>(p < kEnd);
        let idx = select(vec4<i32>(0), (nr.q * P.o + group * P.og + o) * P.ohw + nr.r, inside);
        let v = vec4<f32>(G[idx.x], G[idx.y], G[idx.z], G[idx.w]);
        let bQuad = select(vec4<f32>(0.0), v, inside);

//! kernel splitSum
// ROUND is roundHalf for an f16 pass (its partials are f32), empty otherwise.
struct Params { n: u32, splits: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;

//! main over P.n
  var acc = 0.0;
  for (var s = 0u; s < P.splits; s++) {
    acc += Partial[s * P.n + i];
  }
  Out[i] = {{ROUND}}(acc);
}
