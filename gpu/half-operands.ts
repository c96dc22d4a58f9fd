/**
 * The f16 operand precision of the GEMM family on the host backends (the TypeScript reference
 * and WASM): the op runs at f32 on copies of both operands rounded to half, and its result is
 * rounded in place. This is the definition the WGSL kernels, which round as they stage and
 * store, are tested against. `Float16Array` rounds to nearest even and overflows to infinity,
 * IEEE's conversion, so overflows reach the loss scaler as they would on half hardware.
 */

import type { GemmPrecision, HostStorage } from "./types.ts";

/** Rounds every element to the nearest half value, in place. */
export function roundToHalf(data: Float32Array): void {
  data.set(new Float16Array(data));
}

/** How a host backend makes and frees the rounded copies. */
export interface HostMemory<S extends HostStorage> {
  copy(data: Float32Array): S;
  free(s: S): void;
}

/** `op` with both storage operands and its result at the precision its params ask for. */
export function atOperandPrecision<S extends HostStorage, P extends { precision?: GemmPrecision }>(
  op: (a: S, b: S, p: P) => S,
  memory: HostMemory<S>,
): (a: S, b: S, p: P) => S {
  return (a, b, p) => {
    if ((p.precision ?? "f32") === "f32") return op(a, b, p);
    const rounded = [a, b].map((s) => {
      const data = s.data;
      if (!(data instanceof Float32Array)) throw new Error("f16 GEMM operands must be f32");
      const copy = memory.copy(data);
      roundToHalf(copy.data as Float32Array);
      return copy;
    });
    try {
      const out = op(rounded[0], rounded[1], { ...p, precision: "f32" });
      roundToHalf(out.data as Float32Array);
      return out;
    } finally {
      for (const s of rounded) memory.free(s);
    }
  };
}
