//! common
//! include float-bits sigmoid
// Batch norm over an input viewed as [n, c, spatial]. The per-channel reductions run one
// workgroup per channel with a shared-memory tree; the element-wise parts one thread each.
// keep, meanWeight and varWeight move the running statistics (statsRunning only; the other
// kernels leave them unset).
struct Params {
  n: u32, c: u32, spatial: u32, eps: f32, total: u32, batchStats: u32,
  keep: f32, meanWeight: f32, varWeight: f32,
}

// ReLU that passes NaN on, as PyTorch's relu (and elementwise.wgsl's) does.
fn reluKeepNaN(x: f32) -> f32 {
  return select(max(x, 0.0), x, isNanF(x));
}

fn channelCount() -> u32 {
  return P.n * P.spatial;
}

// Flat position r in 0..n*spatial of channel ch -> index into the [n, c, spatial] tensor.
fn channelIndex(ch: u32, r: u32) -> u32 {
  let n = r / P.spatial;
  return (n * P.c + ch) * P.spatial + (r - n * P.spatial);
}

var<workgroup> partial: array<f32, {{WG_SIZE}}>;
var<workgroup> partial2: array<f32, {{WG_SIZE}}>;

// Tree-sums partial (and partial2) over the workgroup; the totals end in slot 0.
fn treeSum(lid: u32) {
  workgroupBarrier();
  for (var stride = {{WG_SIZE}}u / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
      partial2[lid] += partial2[lid + stride];
    }
    workgroupBarrier();
  }
}

//! kernel statsRunning
// The batch's mean and biased variance per channel; the running statistics move towards them
// (the unbiased variance) and the batch is counted, as in PyTorch's training step.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read_write> VAR: array<f32>;
@group(0) @binding(4) var<storage, read_write> RMEAN: array<f32>;
@group(0) @binding(5) var<storage, read_write> RVAR: array<f32>;
@group(0) @binding(6) var<storage, read_write> COUNT: array<i32>;

//! main per workgroup over P.c as ch
  let count = channelCount();
  // Two passes (mean, then squared deviations) avoid the cancellation of E[x^2] - E[x]^2.
  var acc = 0.0;
  if (valid) {
    for (var r = lid; r < count; r += {{WG_SIZE}}u) {
      acc += X[channelIndex(ch, r)];
    }
  }
  partial[lid] = acc;
  partial2[lid] = 0.0;
  treeSum(lid);
  let mean = partial[0] / f32(count);
  workgroupBarrier();
  var sq = 0.0;
  if (valid) {
    for (var r = lid; r < count; r += {{WG_SIZE}}u) {
      let d = X[channelIndex(ch, r)] - mean;
      sq += d * d;
    }
  }
  partial[lid] = sq;
  partial2[lid] = 0.0;
  treeSum(lid);
  if (lid == 0u && valid) {
    let variance = partial[0] / f32(count);
    MEAN[ch] = mean;
    VAR[ch] = variance;
    RMEAN[ch] = P.keep * RMEAN[ch] + P.meanWeight * mean;
    RVAR[ch] = P.keep * RVAR[ch] + P.varWeight * variance;
    if (ch == 0u) {
      COUNT[0] = COUNT[0] + 1;
    }
  }
}


//! template apply
// v = (x - mean) * invStd * gamma + beta per element, then each kernel's OUT of v, in one pass:
// plain, ReLU (NaN passed on, as PyTorch's relu does), the block's shortcut added before the
// ReLU, or SiLU (EfficientNet's conv-bn-act; its backward recomputes v).
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> MEAN: array<f32>;
@group(0) @binding(3) var<storage, read> VAR: array<f32>;
@group(0) @binding(4) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(5) var<storage, read> BETA: array<f32>;
{{DECLS}}

//! main over P.total
  let ch = (i / P.spatial) % P.c;
  let v = (X[i] - MEAN[ch]) * inverseSqrt(VAR[ch] + P.eps) * GAMMA[ch] + BETA[ch];
  {{OUT}}
}

//! kernel apply uses apply
//! block DECLS
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
//! block OUT
Y[i] = v;

//! kernel applyReLU uses apply
//! block DECLS
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
//! block OUT
Y[i] = reluKeepNaN(v);

//! kernel applyResidualReLU uses apply
//! block DECLS
@group(0) @binding(6) var<storage, read> RESIDUAL: array<f32>;
@group(0) @binding(7) var<storage, read_write> Y: array<f32>;
//! block OUT
Y[i] = reluKeepNaN(v + RESIDUAL[i]);

//! kernel applySiLU uses apply
//! block DECLS
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
//! block OUT
Y[i] = v * sigmoidf(v);

//! template gradParams
// Per channel: gBeta = sum(g), gGamma = sum(g * xhat), where g = gradAt(i) is the gradient at
// the normalised output: the incoming one, or the ReLU kernels' masked by a following ReLU, or
// the SiLU kernels' taken through SiLU's gradient at the output recomputed from x.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read> VAR: array<f32>;
{{DECLS}}

fn gradAt(i: u32) -> f32 {
  {{GRAD}}
}

//! main per workgroup over P.c as ch
  var sumGy = 0.0;
  var sumGyXhat = 0.0;
  if (valid) {
    let mean = MEAN[ch];
    let invStd = inverseSqrt(VAR[ch] + P.eps);
    for (var r = lid; r < channelCount(); r += {{WG_SIZE}}u) {
      let i = channelIndex(ch, r);
      let g = gradAt(i);
      sumGy += g;
      sumGyXhat += g * (X[i] - mean) * invStd;
    }
  }
  partial[lid] = sumGy;
  partial2[lid] = sumGyXhat;
  treeSum(lid);
  if (lid == 0u && valid) {
    GBETA[ch] = partial[0];
    GGAMMA[ch] = partial2[0];
  }
}

//! template gradInput
// With batch statistics the mean and variance depend on x, which adds the two centring terms.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> GY: array<f32>;
@group(0) @binding(3) var<storage, read> MEAN: array<f32>;
@group(0) @binding(4) var<storage, read> VAR: array<f32>;
@group(0) @binding(5) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(6) var<storage, read> GGAMMA: array<f32>;
@group(0) @binding(7) var<storage, read> GBETA: array<f32>;
{{DECLS}}

fn gradAt(i: u32) -> f32 {
  {{GRAD}}
}

//! main over P.total
  let ch = (i / P.spatial) % P.c;
  let invStd = inverseSqrt(VAR[ch] + P.eps);
  let k = GAMMA[ch] * invStd;
  let g = gradAt(i);
  if (P.batchStats == 0u) {
    GX[i] = k * g;
    return;
  }
  let count = f32(channelCount());
  let xhat = (X[i] - MEAN[ch]) * invStd;
  GX[i] = k * (g - GBETA[ch] / count - xhat * GGAMMA[ch] / count);
}

//! kernel gradParams uses gradParams
//! block DECLS
@group(0) @binding(5) var<storage, read_write> GGAMMA: array<f32>;
@group(0) @binding(6) var<storage, read_write> GBETA: array<f32>;
//! block GRAD
return GY[i];

//! kernel gradInput uses gradInput
//! block DECLS
@group(0) @binding(8) var<storage, read_write> GX: array<f32>;
//! block GRAD
return GY[i];

//! kernel gradParamsReLU uses gradParams
//! block DECLS
@group(0) @binding(5) var<storage, read> Y: array<f32>;
@group(0) @binding(6) var<storage, read_write> GGAMMA: array<f32>;
@group(0) @binding(7) var<storage, read_write> GBETA: array<f32>;
//! block GRAD
return select(0.0, GY[i], Y[i] > 0.0 || isNanF(Y[i]));

//! kernel gradInputReLU uses gradInput
//! block DECLS
@group(0) @binding(8) var<storage, read> Y: array<f32>;
@group(0) @binding(9) var<storage, read_write> GX: array<f32>;
//! block GRAD
return select(0.0, GY[i], Y[i] > 0.0 || isNanF(Y[i]));

//! kernel gradParamsSiLU uses gradParams
//! block DECLS
@group(0) @binding(5) var<storage, read> GAMMA: array<f32>;
@group(0) @binding(6) var<storage, read> BETA: array<f32>;
@group(0) @binding(7) var<storage, read_write> GGAMMA: array<f32>;
@group(0) @binding(8) var<storage, read_write> GBETA: array<f32>;
//! block GRAD
let ch = (i / P.spatial) % P.c;
let v = (X[i] - MEAN[ch]) * inverseSqrt(VAR[ch] + P.eps) * GAMMA[ch] + BETA[ch];
return siluGrad(GY[i], v);

//! kernel gradInputSiLU uses gradInput
//! block DECLS
@group(0) @binding(8) var<storage, read> BETA: array<f32>;
@group(0) @binding(9) var<storage, read_write> GX: array<f32>;
//! block GRAD
let ch = (i / P.spatial) % P.c;
let v = (X[i] - MEAN[ch]) * inverseSqrt(VAR[ch] + P.eps) * GAMMA[ch] + BETA[ch];
return siluGrad(GY[i], v);
