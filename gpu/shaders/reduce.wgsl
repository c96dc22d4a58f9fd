//! common
//! include tree
// Reductions over any set of axes: each output owns a strided walk over the reduced elements.
// Small reductions use one thread per output; large ones one workgroup per output with a
// shared-memory tree; the OP define is the tree snippet's TREE_SUM, TREE_MAX or TREE_MIN.

struct Params {
  outputs: u32, keptRank: u32, reducedRank: u32, reducedSize: u32,
  keptShape: array<vec4<i32>, 2>, keptStride: array<vec4<i32>, 2>,
  redShape: array<vec4<i32>, 2>, redStride: array<vec4<i32>, 2>,
}

fn baseOffset(p: Params, out: u32) -> i32 {
  return viewOffset(out, p.keptRank, 0, p.keptShape, p.keptStride);
}

fn reducedOffset(p: Params, r: u32) -> i32 {
  return viewOffset(r, p.reducedRank, 0, p.redShape, p.redStride);
}

fn combine(acc: f32, v: f32) -> f32 {
  return treeCombine({{OP}}, acc, v);
}

//! kernel perThread
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

//! main over P.outputs
  let base = baseOffset(P, i);
  var acc: f32 = {{INIT}};
  for (var r = 0u; r < P.reducedSize; r++) {
    acc = combine(acc, X[base + reducedOffset(P, r)]);
  }
  Y[i] = acc;
}

//! kernel perWorkgroup
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

//! main per workgroup over P.outputs as out
  var acc: f32 = {{INIT}};
  if (valid) {
    let base = baseOffset(P, out);
    for (var r = lid; r < P.reducedSize; r += {{WG_SIZE}}u) {
      acc = combine(acc, X[base + reducedOffset(P, r)]);
    }
  }
  let total = treeReduce(lid, acc, {{OP}});
  if (lid == 0u && valid) {
    Y[out] = total;
  }
}
