//! common
// Strided copies: one kernel reads any view (permute, slice, flip, broadcast) densely, the other
// writes a dense tensor into a view of another (concat, slice assignment). Both bind the same
// record and buffers: X is read, Y written, and P describes the view.
struct Params { n: u32, rank: u32, offset: i32, pad: u32, shape: array<vec4<i32>, 2>, stride: array<vec4<i32>, 2> }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> Y: array<{{T}}>;

//! kernel gather

//! main over P.n
  let o = viewOffset(i, P.rank, P.offset, P.shape, P.stride);
  Y[i] = X[o];
}

//! kernel scatter

//! main over P.n
  let o = viewOffset(i, P.rank, P.offset, P.shape, P.stride);
  Y[o] = X[i];
}
