//! common
//! include divmod
// Depthwise convolution (groups == C == O, one 2-D filter per channel) for EfficientNet-style
// networks. A GEMM tile would waste all but one of its filter columns here, so these kernels are
// direct: each invocation owns four neighbouring pixels of one row and shares every tap weight
// between them. Weight gradients sum over (n, oy, ox) in slices that conv.wgsl's `splitSum` adds.

// One parameter record for the three kernels (gpu/webgpu/depthwise.ts writes it); `quads` is
// the number of 4-pixel groups per row the kernel walks (output rows forward, input rows back).
struct Params {
  total: u32, c: i32, h: i32, w: i32,
  oh: i32, ow: i32, quads: i32, kh: i32,
  kw: i32, khw: i32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilH: i32, dilW: i32,
  pixels: i32, perSplit: i32, invStrideH: f32, invStrideW: f32,
}

//! kernel forward
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

//! main over P.total
  let row = i32(i) / P.quads;
  let oy = row % P.oh;
  let plane = row / P.oh;
  let channel = plane % P.c;
  let ox = vec4<i32>((i32(i) % P.quads) * 4) + vec4<i32>(0, 1, 2, 3);
  let base = plane * P.h * P.w;
  var acc = vec4<f32>(0.0);
  for (var ky = 0; ky < P.kh; ky++) {
    let iy = oy * P.strideH - P.padH + ky * P.dilH;
    let rowOk = iy >= 0 && iy < P.h;
    for (var kx = 0; kx < P.kw; kx++) {
      let ix = ox * P.strideW - vec4<i32>(P.padW - kx * P.dilW);
      let inside = vec4<bool>(rowOk) & (ix >= vec4<i32>(0)) & (ix < vec4<i32>(P.w));
      let idx = select(vec4<i32>(0), vec4<i32>(base + iy * P.w) + ix, inside);
      let v = select(vec4<f32>(0.0), vec4<f32>(X[idx.x], X[idx.y], X[idx.z], X[idx.w]), inside);
      acc = fma(v, vec4<f32>(Wt[(channel * P.kh + ky) * P.kw + kx]), acc);
    }
  }
  let out = (plane * P.oh + oy) * P.ow;
  for (var e = 0; e < 4; e++) {
    if (ox[e] < P.ow) {
      Y[out + ox[e]] = acc[e];
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
  let iy = row % P.h;
  let plane = row / P.h;
  let channel = plane % P.c;
  let ix = vec4<i32>((i32(i) % P.quads) * 4) + vec4<i32>(0, 1, 2, 3);
  let base = plane * P.oh * P.ow;
  var acc = vec4<f32>(0.0);
  for (var ky = 0; ky < P.kh; ky++) {
    let ty = iy + P.padH - ky * P.dilH;
    let dy = divmod(max(ty, 0), P.strideH, P.invStrideH);
    let rowOk = ty >= 0 && dy.r == 0 && dy.q < P.oh;
    for (var kx = 0; kx < P.kw; kx++) {
      let tx = ix + vec4<i32>(P.padW - kx * P.dilW);
      let dx = divmod4(max(tx, vec4<i32>(0)), P.strideW, P.invStrideW);
      let inside = vec4<bool>(rowOk) & (tx >= vec4<i32>(0)) & (dx.r == vec4<i32>(0)) &
        (dx.q < vec4<i32>(P.ow));
      let idx = select(vec4<i32>(0), vec4<i32>(base + dy.q * P.ow) + dx.q, inside);
      let v = select(vec4<f32>(0.0), vec4<f32>(G[idx.x], G[idx.y], G[idx.z], G[idx.w]), inside);
      acc = fma(v, vec4<f32>(Wt[(channel * P.kh + ky) * P.kw + kx]), acc);
    }
  }
  let out = (plane * P.h + iy) * P.w;
  for (var e = 0; e < 4; e++) {
    if (ix[e] < P.w) {
      DX[out + ix[e]] = acc[e];
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
  let lanes = P.c * P.khw;
  let split = i32(i) / lanes;
  let channel = (i32(i) % lanes) / P.khw;
  let tapIndex = i32(i) % P.khw;
  let ky = tapIndex / P.kw;
  let kx = tapIndex % P.kw;
  let begin = split * P.perSplit;
  let end = min(begin + P.perSplit, P.pixels);
  var n = begin / (P.oh * P.ow);
  var oy = (begin % (P.oh * P.ow)) / P.ow;
  var ox = begin % P.ow;
  var acc = 0.0;
  for (var p = begin; p < end; p++) {
    let iy = oy * P.strideH - P.padH + ky * P.dilH;
    let ix = ox * P.strideW - P.padW + kx * P.dilW;
    let plane = n * P.c + channel;
    if (iy >= 0 && iy < P.h && ix >= 0 && ix < P.w) {
      acc = fma(G[(plane * P.oh + oy) * P.ow + ox], X[(plane * P.h + iy) * P.w + ix], acc);
    }
    ox++;
    if (ox == P.ow) {
      ox = 0;
      oy++;
      if (oy == P.oh) {
        oy = 0;
        n++;
      }
    }
  }
  Partial[i] = acc;
}
