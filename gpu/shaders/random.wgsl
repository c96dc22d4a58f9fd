//! common
// Counter-based PCG hash: the twin of gpu/random-hash.ts, so both backends draw identical numbers.
fn pcgHash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

//! kernel random
struct Params { n: u32, kind: u32, p: f32, seed: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;

//! main over P.n
  let key = pcgHash(P.seed);
  if (P.kind == 2u) {
    let u1 = (f32(pcgHash((2u * i) ^ key) >> 8u) + 1.0) / 16777217.0;
    let u2 = f32(pcgHash((2u * i + 1u) ^ key) >> 8u) / 16777216.0;
    Y[i] = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    return;
  }
  let u = f32(pcgHash(i ^ key) >> 8u) / 16777216.0;
  if (P.kind == 0u) {
    Y[i] = u;
  } else {
    Y[i] = select(0.0, 1.0, u < P.p);
  }
}
