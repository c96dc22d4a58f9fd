//! common
// Optimiser updates, in place: the parameter and its state are read_write outputs, the gradient
// the only input. The rules are PyTorch's (torch.optim.SGD, torch.optim.Adam, no amsgrad).
// PARAM and G hold one parameter or a group's parameters packed end to end; the state buffers
// hold every parameter of the optimiser end to end, so element i's state is at P.base + i.
// Each kernel declares its own Params record and binds its state from binding 3 on. A loss-scaled
// update (nn/optim/loss-scaler.ts) binds the scale and the overflow state after them (SCALING),
// returns at once after an overflow (SKIP) and multiplies its gradient by 1 / scale (UNSCALE);
// without scaling the three defines are empty.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> PARAM: array<f32>;

//! kernel sgd
struct Params {
  n: u32, base: u32, lr: f32, momentum: f32, dampening: f32,
  weightDecay: f32, nesterov: u32, firstStep: u32,
}
@group(0) @binding(3) var<storage, read_write> BUF: array<f32>;
{{SCALING}}

//! main over P.n
  {{SKIP}}
  let p = PARAM[i];
  var d = G[i]{{UNSCALE}} + P.weightDecay * p;
  if (P.momentum != 0.0) {
    // PyTorch seeds the buffer with the first gradient rather than decaying from zero.
    let s = P.base + i;
    var b = d;
    if (P.firstStep == 0u) {
      b = P.momentum * BUF[s] + (1.0 - P.dampening) * d;
    }
    BUF[s] = b;
    d = select(b, d + P.momentum * b, P.nesterov != 0u);
  }
  PARAM[i] = p - P.lr * d;
}

//! kernel adam
// stepSize = lr / (1 - beta1^t) and sqrtBc2 = sqrt(1 - beta2^t) come from the host in float64.
struct Params {
  n: u32, base: u32, stepSize: f32, beta1: f32, beta2: f32,
  eps: f32, weightDecay: f32, sqrtBc2: f32,
}
@group(0) @binding(3) var<storage, read_write> M: array<f32>;
@group(0) @binding(4) var<storage, read_write> V: array<f32>;
{{SCALING}}

//! main over P.n
  {{SKIP}}
  let s = P.base + i;
  let p = PARAM[i];
  let g = G[i]{{UNSCALE}} + P.weightDecay * p;
  let m = P.beta1 * M[s] + (1.0 - P.beta1) * g;
  let v = P.beta2 * V[s] + (1.0 - P.beta2) * g * g;
  M[s] = m;
  V[s] = v;
  PARAM[i] = p - P.stepSize * m / (sqrt(v) / P.sqrtBc2 + P.eps);
}
