//! common
//! include float-bits
// 2-D pooling over NCHW planes with PyTorch's arithmetic (floor mode). Forward kernels run one
// invocation per output; backward kernels run one invocation per input cell and gather from the
// windows that cover it, in increasing output order, so no atomics are needed and the sums
// match the CPU twins' order.
struct Params {
  total: u32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, includePad: u32,
}
@group(0) @binding(0) var<uniform> P: Params;

// The outputs whose window (start o*s - pad, length k) covers input index i: [first, last].
fn covering(i: i32, pad: i32, k: i32, s: i32, outSize: i32) -> vec2<i32> {
  let reach = i + pad - k + 1;
  var first = 0;
  if (reach > 0) {
    first = (reach + s - 1) / s;
  }
  return vec2<i32>(first, min((i + pad) / s, outSize - 1));
}

// avg_pool2d's divisor: the window clipped to the padded input, or to the input itself.
fn divisor(oy: i32, ox: i32) -> f32 {
  let hs = oy * P.sh - P.ph;
  let ws = ox * P.sw - P.pw;
  let he = min(hs + P.kh, P.h + P.ph);
  let we = min(ws + P.kw, P.w + P.pw);
  if (P.includePad != 0u) {
    return f32((he - hs) * (we - ws));
  }
  return f32((min(he, P.h) - max(hs, 0)) * (min(we, P.w) - max(ws, 0)));
}

//! template window
// Forward kernels: one invocation per output `o`, whose window starts at (hs, ws) of the plane
// at `base`; BODY visits it.
{{DECLS}}

//! main over P.total as o
  let perPlane = u32(P.oh * P.ow);
  let plane = o / perPlane;
  let oy = i32(o % perPlane) / P.ow;
  let ox = i32(o % perPlane) % P.ow;
  let base = plane * u32(P.h * P.w);
  let hs = oy * P.sh - P.ph;
  let ws = ox * P.sw - P.pw;
  {{BODY}}
}

//! template gather
// Backward kernels: one invocation per input cell `i`, summing into `g` over the outputs
// (oy, ox; flat `o`) whose windows cover it, in increasing output order; TERM is one's share.
{{DECLS}}

//! main over P.total
  let perPlane = u32(P.h * P.w);
  let plane = i / perPlane;
  let cell = i32(i % perPlane);
  let rows = covering(cell / P.w, P.ph, P.kh, P.sh, P.oh);
  let cols = covering(cell % P.w, P.pw, P.kw, P.sw, P.ow);
  let outBase = plane * u32(P.oh * P.ow);
  var g = 0.0;
  for (var oy = rows.x; oy <= rows.y; oy++) {
    for (var ox = cols.x; ox <= cols.y; ox++) {
      let o = outBase + u32(oy * P.ow + ox);
      {{TERM}}
    }
  }
  GX[i] = g;
}

//! kernel maxForward uses window
//! block DECLS
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read_write> ARG: array<i32>;
//! block BODY
// Padding counts as -inf: only real cells are visited, and the first one seeds the argmax.
  var best = negInf();
  var at = -1;
  for (var iy = max(hs, 0); iy < min(hs + P.kh, P.h); iy++) {
    for (var ix = max(ws, 0); ix < min(ws + P.kw, P.w); ix++) {
      let v = X[base + u32(iy * P.w + ix)];
      // Strictly greater keeps the first of equal values; a NaN (tested on its bits, which no
      // compiler may fold away) always takes the cell, so the last NaN wins, as in PyTorch.
      if (v > best || isNanF(v) || at < 0) {
        best = v;
        at = iy * P.w + ix;
      }
    }
  }
  Y[o] = best;
  ARG[o] = at;

//! kernel maxBackward uses gather
//! block DECLS
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read> ARG: array<i32>;
@group(0) @binding(3) var<storage, read_write> GX: array<f32>;
//! block TERM
if (ARG[o] == cell) {
        g += GY[o];
      }

//! kernel avgForward uses window
//! block DECLS
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
//! block BODY
var sum = 0.0;
  for (var iy = max(hs, 0); iy < min(hs + P.kh, P.h); iy++) {
    for (var ix = max(ws, 0); ix < min(ws + P.kw, P.w); ix++) {
      sum += X[base + u32(iy * P.w + ix)];
    }
  }
  Y[o] = sum / divisor(oy, ox);

//! kernel avgBackward uses gather
//! block DECLS
@group(0) @binding(1) var<storage, read> GY: array<f32>;
@group(0) @binding(2) var<storage, read_write> GX: array<f32>;
//! block TERM
g += GY[o] / divisor(oy, ox);
