/**
 * Mixed precision in PyTorch's `torch.autocast` manner: inside `autocast("f16", fn)` every
 * matmul, linear layer and convolution runs at the f16 operand precision (gpu/types.ts
 * GemmPrecision), and so do their backward products, which keep the precision of the forward
 * pass that recorded them. Everything else (batch norm, activations, losses, the optimiser and
 * the master weights) stays f32. Half's range is narrow, so gradients need loss scaling
 * (nn/optim/loss-scaler.ts).
 */

import type { GemmPrecision } from "../gpu/backend.ts";

export type Precision = GemmPrecision;

/** Every precision, for option parsers. */
export const PRECISIONS = ["f32", "f16"] as const satisfies readonly Precision[];

const stack: Precision[] = [];

/** Runs `fn` with the GEMM family at `precision`; nests, and restores on return or throw. */
export function autocast<T>(precision: Precision, fn: () => T): T {
  stack.push(precision);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

/** The precision a GEMM-family op recorded now takes. */
export function gemmPrecision(): Precision {
  return stack[stack.length - 1] ?? "f32";
}
