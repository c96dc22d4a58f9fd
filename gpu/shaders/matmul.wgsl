//! common
//! include half-round
// Batched matmul C[b] = op(A[b]) x op(B[b]), op = transpose when asked, batch stride 0 =
// broadcast. C is dense [batch, M, N].
//
// Each workgroup owns a BM x BN tile of C; each invocation owns a TM x TN register tile, its
// columns in vec4 groups strided by WG_X so neighbouring invocations touch neighbouring vec4s.
// K advances KB at a time. Variants that stage an operand copy its KB-deep tile into workgroup
// memory (zero-padded past the matrix edges) between two barriers, and the block reads it from
// there; the others load straight from storage. With prefetch (PRELOAD) the next tile is read
// into registers right after this one is staged, so its loads overlap this tile's arithmetic.
// Then every invocation runs the unrolled TM x TN x 4 multiply-add blocks that
// gpu/webgpu/matmul-codegen.ts writes (WGSL has no unrolling, and Mesa's lavapipe keeps a tile
// in registers only with constant indices).
// Loads take 4 floats where the operand's contiguous dimension is a multiple of 4 and fall
// back to scalars otherwise; direct reads past an edge are clamped into the matrix (their
// products are never stored) and reads past K are masked to zero.
struct Params { m: u32, n: u32, k: u32, aStride: u32, bStride: u32 }

//! kernel tiled
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<{{A_TYPE}}>;
@group(0) @binding(2) var<storage, read> B: array<{{B_TYPE}}>;
@group(0) @binding(3) var<storage, read_write> C: array<{{C_TYPE}}>;
{{SHARED}}

@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let M = P.m;
  let N = P.n;
  let K = P.k;
  // Batch offsets in elements; vec4 variants divide them by 4 (the host checks alignment).
  let aBase = wid.z * P.aStride;
  let bBase = wid.z * P.bStride;
  let cBase = wid.z * M * N;
  let tileRow = wid.y * {{BM}}u;
  let tileGroup = wid.x * {{BN4}}u;
  let row0 = tileRow + lid.y * {{TM}}u;
  let group0 = tileGroup + lid.x;
  {{ACC}}
  {{PRELOAD}}
  for (var k0 = 0u; k0 < K; k0 += {{KB}}u) {
    {{STAGE}}
    {{BLOCK}}
    {{SYNC}}
  }
  {{STORE}}
}
