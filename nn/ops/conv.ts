/**
 * 2-D convolution with PyTorch's semantics (NCHW input, OIHW weight, stride / padding /
 * dilation per axis, groups). The backend computes the convolution and both gradients; the bias
 * is a broadcast add, so its gradient (the sum over N, H, W) comes from the add's own rule.
 */

import type { Conv2dParams } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { reshape } from "./layout.ts";

/** A per-axis size: one number for both axes, or [height, width]. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

function pair(value: Pair, name: string, min: number): [number, number] {
  const [a, b] = typeof value === "number" ? [value, value] : value;
  for (const v of [a, b]) {
    if (!Number.isInteger(v) || v < min) {
      throw new Error(`conv2d: ${name} must be integers >= ${min}, got ${JSON.stringify(value)}`);
    }
  }
  return [a, b];
}

/** Validates shapes and options and derives the output size (PyTorch's floor arithmetic). */
export function conv2dParams(
  xShape: readonly number[],
  wShape: readonly number[],
  options: Conv2dOptions = {},
): Conv2dParams {
  if (xShape.length !== 4) throw new Error(`conv2d: input must be [N, C, H, W], got [${xShape}]`);
  if (wShape.length !== 4) {
    throw new Error(`conv2d: weight must be [O, C/groups, kH, kW], got [${wShape}]`);
  }
  const [n, c, h, w] = xShape;
  const [o, cg, kh, kw] = wShape;
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(`conv2d: groups must be >= 1, got ${groups}`);
  }
  if (c % groups !== 0 || o % groups !== 0) {
    throw new Error(
      `conv2d: groups=${groups} must divide input channels ${c} and output channels ${o}`,
    );
  }
  if (cg !== c / groups) {
    throw new Error(
      `conv2d: weight [${wShape}] expects ${cg * groups} input channels with groups=${groups}, ` +
        `input [${xShape}] has ${c}`,
    );
  }
  const [strideH, strideW] = pair(options.stride ?? 1, "stride", 1);
  const [padH, padW] = pair(options.padding ?? 0, "padding", 0);
  const [dilationH, dilationW] = pair(options.dilation ?? 1, "dilation", 1);
  const oh = Math.floor((h + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const ow = Math.floor((w + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  if (oh < 1 || ow < 1 || kh < 1 || kw < 1) {
    throw new Error(
      `conv2d: kernel ${kh}x${kw} (dilation ${dilationH},${dilationW}) does not fit input ` +
        `${h}x${w} with padding ${padH},${padW}`,
    );
  }
  return {
    n,
    c,
    h,
    w,
    o,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
    oh,
    ow,
  };
}

/** y = conv2d(x, w) + bias, differentiable in x, w and bias. */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  if (x.dtype !== "f32" || w.dtype !== "f32") {
    throw new Error("conv2d: input and weight must be f32");
  }
  if (x.backend !== w.backend) {
    throw new Error("conv2d: input and weight live on different backends");
  }
  const p = conv2dParams(x.shape, w.shape, options);
  const backend = x.backend;
  const out = Tensor.fromStorage(backend, backend.conv2d(x.storage, w.storage, p), [
    p.n,
    p.o,
    p.oh,
    p.ow,
  ]);
  const y = record(out, [x, w], "conv2d", (g) => [
    x.requiresGrad
      ? Tensor.fromStorage(backend, backend.conv2dGradInput(g.storage, w.storage, p), x.shape)
      : null,
    w.requiresGrad
      ? Tensor.fromStorage(backend, backend.conv2dGradWeight(x.storage, g.storage, p), w.shape)
      : null,
  ]);
  if (!bias) return y;
  if (bias.rank !== 1 || bias.shape[0] !== p.o) {
    throw new Error(`conv2d: bias must be [${p.o}], got [${bias.shape}]`);
  }
  return add(y, reshape(bias, [1, p.o, 1, 1]));
}
