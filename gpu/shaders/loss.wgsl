//! common
//! include float-bits
// Losses. Labels are i32 class indices; a label outside [0, cols) that is not the ignore index
// cannot raise an error on the GPU, so its row is written as NaN (never read out of bounds).

//! kernel bce
// max(x, 0) - x * t + log(1 + exp(-|x|)): stable for logits of any sign.
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

//! main over P.n
  let x = X[i];
  Y[i] = max(x, 0.0) - x * T[i] + log(1.0 + exp(-abs(x)));
}

//! kernel crossEntropy
//! include row-exp
// One thread per row: loss = w[y] * (logsumexp(row) - row[y]), weight = w[y] (0 if ignored).
struct Params { rows: u32, cols: u32, ignoreIndex: i32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> LABELS: array<i32>;
{{WEIGHT_DECL}}
@group(0) @binding({{OUT}}) var<storage, read_write> LOSS: array<f32>;
@group(0) @binding({{OUT2}}) var<storage, read_write> WEIGHT: array<f32>;

//! main over P.rows as r
  let y = LABELS[r];
  if (y == P.ignoreIndex) {
    LOSS[r] = 0.0;
    WEIGHT[r] = 0.0;
    return;
  }
  if (y < 0 || u32(y) >= P.cols) {
    LOSS[r] = nanF32();
    WEIGHT[r] = nanF32();
    return;
  }
  let base = r * P.cols;
  let row = rowExp(base, P.cols);
  let w = {{WEIGHT_OF_Y}};
  LOSS[r] = w * (row.m + log(row.s) - X[base + u32(y)]);
  WEIGHT[r] = w;
}

//! kernel crossEntropyBackward
//! include row-exp
// One thread per row: d loss / d row = gRow * w[y] * (softmax(row) - onehot(y)).
struct Params { rows: u32, cols: u32, ignoreIndex: i32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> LABELS: array<i32>;
@group(0) @binding(3) var<storage, read> GROW: array<f32>;
{{WEIGHT_DECL}}
@group(0) @binding({{OUT}}) var<storage, read_write> GX: array<f32>;

//! main over P.rows as r
  let base = r * P.cols;
  let y = LABELS[r];
  if (y == P.ignoreIndex || y < 0 || u32(y) >= P.cols) {
    let fillValue = select(nanF32(), 0.0, y == P.ignoreIndex);
    for (var j = 0u; j < P.cols; j++) {
      GX[base + j] = fillValue;
    }
    return;
  }
  let row = rowExp(base, P.cols);
  let k = GROW[r] * {{WEIGHT_OF_Y}};
  for (var j = 0u; j < P.cols; j++) {
    let p = exp(X[base + j] - row.m) / row.s;
    GX[base + j] = k * (p - select(0.0, 1.0, j == u32(y)));
  }
}

//! kernel oneHot
struct Params { n: u32, cols: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> LABELS: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

//! main over P.n
  let r = i / P.cols;
  let y = LABELS[r];
  if (y < 0 || u32(y) >= P.cols) {
    Y[i] = nanF32();
    return;
  }
  Y[i] = select(0.0, 1.0, u32(y) == i - r * P.cols);
}
