//! common
//! include float-bits sigmoid
// Element-wise ops. Views are described by up to 8 dims packed in vec4 pairs; strides are
// signed so a view can broadcast (0) or flip (negative).
const MAX_RANK: u32 = 8u;


fn tanhf(x: f32) -> f32 {
  let c = clamp(x, -15.0, 15.0);
  let e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}

fn powf(x: f32, p: f32) -> f32 {
  if (x >= 0.0) {
    return pow(x, p);
  }
  // Negative bases are defined for integral exponents, as in C and PyTorch.
  if (p != floor(p)) {
    return nanF32();
  }
  let m = pow(-x, p);
  return select(m, -m, (i32(p) & 1) == 1);
}

fn signf(x: f32) -> f32 {
  return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}

//! kernel unary
struct Params { n: u32, p: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;

//! main over P.n
  let x = X[i];
  let p = P.p;
  Y[i] = {{EXPR}};
}

//! kernel binary
struct Params {
  n: u32, rank: u32, offA: i32, offB: i32,
  shape: array<vec4<i32>, 2>,
  strideA: array<vec4<i32>, 2>,
  strideB: array<vec4<i32>, 2>,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

//! main over P.n
  var rest = i32(i);
  var ia = P.offA;
  var ib = P.offB;
  for (var d = i32(P.rank) - 1; d >= 0; d--) {
    let size = dimOf(P.shape, u32(d));
    let idx = rest % size;
    rest = rest / size;
    ia += idx * dimOf(P.strideA, u32(d));
    ib += idx * dimOf(P.strideB, u32(d));
  }
  let a = A[ia];
  let b = B[ib];
  Y[i] = {{EXPR}};
}

//! kernel fused
// A chain of the rows above in one pass (gpu/webgpu/fused.ts writes FIELDS, FUNCTIONS, BINDINGS and
// BODY): one `let` per step, each rounded to f32 as the unfused chain's storages are.
struct Params { n: u32{{FIELDS}} }
@group(0) @binding(0) var<uniform> P: Params;
{{BINDINGS}}
{{FUNCTIONS}}

//! main over P.n
  {{BODY}}
}

//! kernel sigmoidGate
// y = x * sigmoid(gate) with one gate per plane of `plane` elements (squeeze-excitation).
struct Params { n: u32, plane: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Gate: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

//! main over P.n
  Y[i] = X[i] * sigmoidf(Gate[i / P.plane]);
}

//! kernel axpby
struct Params { n: u32, a: f32, b: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Z: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

//! main over P.n
  Y[i] = P.a * X[i] + P.b * Z[i];
}

//! kernel cast
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<{{FROM}}>;
@group(0) @binding(2) var<storage, read_write> Y: array<{{TO}}>;

//! main over P.n
  Y[i] = {{TO}}(X[i]);
}

//! kernel fill
struct Params { n: u32, value: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<{{T}}>;

//! main over P.n
  Y[i] = {{T}}(P.value);
}
