//! common
//! include divmod conv-window half-round
// Depthwise convolution (groups == C == O, one 2-D filter per channel) for EfficientNet-style
// networks. A GEMM tile would waste all but one of its filter columns here, so these kernels are
// direct: each invocation owns four neighbouring pixels of one row and shares every tap weight
// between them. Weight gradients sum over (n, oy, ox) in slices that conv.wgsl's `splitSum` adds.
//
// At the f16 operand precision (gpu/types.ts GemmPrecision) ROUND / ROUND4 are roundHalf /
// roundHalf4, which round every operand as it is read, and ROUND_OUT rounds the stored result
// (empty for a split weight gradient, whose total `splitSum` rounds); all are empty for f32.

// One parameter record for the three kernels (gpu/webgpu/depthwise.ts writes it); `quads` is
// the number of 4-pixel groups per row the kernel walks (output rows forward, input rows back).
struct Params {
  win: Window,
  total: u32, quads: i32, pixels: i32, perSplit: i32,
}

//! kernel forward
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

//! main over P.total
  let row = i32(i) / P.quads;
  let oy = row % P.win.oh;
  let plane = row / P.win.oh;
  let channel = plane % P.win.c;
  let ox = vec4<i32>((i32(i) % P.quads) * 4) + vec4<i32>(0, 1, 2, 3);
  let base = plane * P.win.h * P.win.w;
  var acc = vec4<f32>(0.0);
  for (var ky = 0; ky < P.win.kh; ky++) {
    let iy = oy * P.win.strideH - P.win.padH + ky * P.win.dilH;
    let rowOk = iy >= 0 && iy < P.win.h;
    for (var kx = 0; kx < P.win.kw; kx++) {
      let ix = ox * P.win.strideW - vec4<i32>(P.win.padW - kx * P.win.dilW);
      let inside = vec4<bool>(rowOk) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(P.win.w));
      let idx = select(vec4<i32>(0), vec4<i32>(base + iy * P.win.w) + ix, inside);
      let v = select(vec4<f32>(0.0), vec4<f32>(X[idx.x], X[idx.y], X[idx.z], X[idx.w]), inside);
      let tap = {{ROUND}}(Wt[(channel * P.win.kh + ky) * P.win.kw + kx]);
      acc = fma({{ROUND4}}(v), vec4<f32>(tap), acc);
    }
  }
  let out = (plane * P.win.oh + oy) * P.win.ow;
  for (var e = 0; e < 4; e++) {
    if (ox[e] < P.win.ow) {
      Y[out + ox[e]] = {{ROUND_OUT}}(acc[e]);
    }
  }
}

//! kernel gradInput
// Each input pixel gathers the outputs its taps reached: on the stride grid and inside the output.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> DX: array<f32>;

//! main over P.total
  let row = i32(i) / P.quads;
  let iy = row % P.win.h;
  let plane = row / P.win.h;
  let channel = plane % P.win.c;
  let ix = vec4<i32>((i32(i) % P.quads) * 4) + vec4<i32>(0, 1, 2, 3);
  let base = plane * P.win.oh * P.win.ow;
  var acc = vec4<f32>(0.0);
  for (var ky = 0; ky < P.win.kh; ky++) {
    let ty = iy + P.win.padH - ky * P.win.dilH;
    let dy = divmod(max(ty, 0), P.win.strideH, P.win.invStrideH);
    let rowOk = ty >= 0 && dy.r == 0 && dy.q < P.win.oh;
    for (var kx = 0; kx < P.win.kw; kx++) {
      let tx = ix + vec4<i32>(P.win.padW - kx * P.win.dilW);
      let dx = divmod4(max(tx, vec4<i32>(0)), P.win.strideW, P.win.invStrideW);
      let inside = vec4<bool>(rowOk) & (tx >= vec4<i32>(0)) & (dx.r == vec4<i32>(0)) &
        (dx.q < vec4<i32>(P.win.ow));
      let idx = select(vec4<i32>(0), vec4<i32>(base + dy.q * P.win.ow) + dx.q, inside);
      let v = select(vec4<f32>(0.0), vec4<f32>(G[idx.x], G[idx.y], G[idx.z], G[idx.w]), inside);
      let tap = {{ROUND}}(Wt[(channel * P.win.kh + ky) * P.win.kw + kx]);
      acc = fma({{ROUND4}}(v), vec4<f32>(tap), acc);
    }
  }
  let out = (plane * P.win.h + iy) * P.win.w;
  for (var e = 0; e < 4; e++) {
    if (ix[e] < P.win.w) {
      DX[out + ix[e]] = {{ROUND_OUT}}(acc[e]);
    }
  }
}

//! kernel gradWeight
// Invocation (split, channel, ky, kx) sums gy * x over its slice of (n, oy, ox); the pixel
// counters advance without division.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Partial: array<f32>;

//! main over P.total
  let lanes = P.win.c * P.win.khw;
  let split = i32(i) / lanes;
  let channel = (i32(i) % lanes) / P.win.khw;
  let tapIndex = i32(i) % P.win.khw;
  let ky = tapIndex / P.win.kw;
  let kx = tapIndex % P.win.kw;
  let begin = split * P.perSplit;
  let end = min(begin + P.perSplit, P.pixels);
  var n = begin / (P.win.oh * P.win.ow);
  var oy = (begin % (P.win.oh * P.win.ow)) / P.win.ow;
  var ox = begin % P.win.ow;
  var acc = 0.0;
  for (var p = begin; p < end; p++) {
    let iy = oy * P.win.strideH - P.win.padH + ky * P.win.dilH;
    let ix = ox * P.win.strideW - P.win.padW + kx * P.win.dilW;
    let plane = n * P.win.c + channel;
    if (iy >= 0 && iy < P.win.h && ix >= 0 && ix < P.win.w) {
      let g = {{ROUND}}(G[(plane * P.win.oh + oy) * P.win.ow + ox]);
      acc = fma(g, {{ROUND}}(X[(plane * P.win.h + iy) * P.win.w + ix]), acc);
    }
    ox++;
    if (ox == P.win.ow) {
      ox = 0;
      oy++;
      if (oy == P.win.oh) {
        oy = 0;
        n++;
      }
    }
  }
  Partial[i] = {{ROUND_OUT}}(acc);
}
