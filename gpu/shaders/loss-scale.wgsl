//! common
// Dynamic loss scaling (nn/optim/loss-scaler.ts), on the device so a step needs no read-back.
// SCALE is f32 [1]; STATE is [found, goodSteps, overflows] (gpu/cpu/loss-scale.ts has the twins).
// The finite test is on the bits: an all-ones exponent is an infinity or a NaN, whatever the
// compiler assumes about floats.
fn nonFinite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u;
}

//! kernel flag
// Up to GRADS gradients per dispatch, one flat index over them all: gradient j holds the indices
// [ends[j-1], ends[j]) (gpu/webgpu/loss-scale.ts writes GRAD_BINDINGS, ENDS and PICK). Every
// invocation that meets a non-finite value writes the same 1.0, so the race is benign.
struct Params { total: u32, {{ENDS}} }
@group(0) @binding(0) var<uniform> P: Params;
{{GRAD_BINDINGS}}

//! main over P.total
  var v = 0.0;
  {{PICK}}
  if (nonFinite(v)) {
    STATE[0] = 1.0;
  }
}

//! kernel update
// PyTorch's _amp_update_scale_: back off on an overflow, grow after `interval` finite steps.
struct Params { growth: f32, backoff: f32, interval: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> SCALE: array<f32>;
@group(0) @binding(2) var<storage, read_write> STATE: array<f32>;

//! main over 1u
  if (STATE[0] != 0.0) {
    SCALE[0] = SCALE[0] * P.backoff;
    STATE[1] = 0.0;
    STATE[2] = STATE[2] + 1.0;
  } else {
    STATE[1] = STATE[1] + 1.0;
    if (STATE[1] >= P.interval) {
      SCALE[0] = SCALE[0] * P.growth;
      STATE[1] = 0.0;
    }
  }
  STATE[0] = 0.0;
}
