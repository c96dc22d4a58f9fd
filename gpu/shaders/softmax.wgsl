//! common
//! include float-bits
// Softmax / log-softmax along rows of a [rows, cols] tensor, max-subtracted so large logits do
// not overflow. Narrow rows take one thread each; wide rows one workgroup each.
struct Params { rows: u32, cols: u32, logOut: u32 }

//! kernel perThread
//! include row-exp
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

//! main over P.rows as r
  let base = r * P.cols;
  let row = rowExp(base, P.cols);
  let logS = log(row.s);
  for (var j = 0u; j < P.cols; j++) {
    let shifted = X[base + j] - row.m;
    Y[base + j] = select(exp(shifted) / row.s, shifted - logS, P.logOut != 0u);
  }
}

//! kernel perWorkgroup
//! include tree
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

//! main per workgroup over P.rows as r
  let base = r * P.cols;
  var m = negInf();
  if (valid) {
    for (var j = lid; j < P.cols; j += {{WG_SIZE}}u) {
      m = max(m, X[base + j]);
    }
  }
  let rowMax = treeReduce(lid, m, TREE_MAX);
  var s = 0.0;
  if (valid) {
    for (var j = lid; j < P.cols; j += {{WG_SIZE}}u) {
      s += exp(X[base + j] - rowMax);
    }
  }
  let total = treeReduce(lid, s, TREE_SUM);
  let logS = log(total);
  if (valid) {
    for (var j = lid; j < P.cols; j += {{WG_SIZE}}u) {
      let shifted = X[base + j] - rowMax;
      Y[base + j] = select(exp(shifted) / total, shifted - logS, P.logOut != 0u);
    }
  }
}
