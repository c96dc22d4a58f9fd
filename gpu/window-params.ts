/**
 * The arithmetic of sliding windows, in one home for every backend and nn/ops/: PyTorch's output
 * size (floor mode), the convolution and pooling argument checks with its error wording, and the
 * average pool's divisor, so no two copies can drift apart.
 */

import type { Conv2dParams, Pool2dParams } from "./types.ts";

/** Output positions of a window of `kernel` taps `dilation` apart sliding over padded `size`. */
export function windowOutput(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  dilation = 1,
): number {
  return Math.floor((size + 2 * pad - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * The per-axis fields Pool2dParams and Conv2dParams share, under their names, with the output
 * size each axis gives.
 */
function slide(
  h: number,
  w: number,
  [kh, kw]: readonly [number, number],
  [strideH, strideW]: readonly [number, number],
  [padH, padW]: readonly [number, number],
  [dilationH, dilationW]: readonly [number, number] = [1, 1],
) {
  const oh = windowOutput(h, kh, strideH, padH, dilationH);
  const ow = windowOutput(w, kw, strideW, padW, dilationW);
  return { kh, kw, strideH, strideW, padH, padW, oh, ow };
}

export interface PoolWindow {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  countIncludePad: boolean;
}

/** Pool2dParams for an NCHW input, with PyTorch's checks and error wording. */
export function pool2dParams(
  op: string,
  shape: readonly number[],
  win: PoolWindow,
): Pool2dParams {
  if (shape.length !== 4) throw new Error(`${op}: input must be [N, C, H, W], got [${shape}]`);
  const [n, c, h, w] = shape;
  const [kh, kw] = win.kernel;
  const [strideH, strideW] = win.stride;
  const [padH, padW] = win.padding;
  const ints = [kh, kw, strideH, strideW, padH, padW];
  if (ints.some((v) => !Number.isInteger(v)) || kh < 1 || kw < 1 || strideH < 1 || strideW < 1) {
    throw new Error(
      `${op}: kernel [${win.kernel}] and stride [${win.stride}] must be positive integers`,
    );
  }
  if (padH < 0 || padW < 0 || padH > kh / 2 || padW > kw / 2) {
    throw new Error(
      `${op}: padding [${win.padding}] must be at most half the kernel [${win.kernel}]`,
    );
  }
  const g = slide(h, w, win.kernel, win.stride, win.padding);
  if (g.oh < 1 || g.ow < 1) {
    throw new Error(
      `${op}: input [${shape}] is too small for kernel [${win.kernel}] with padding ` +
        `[${win.padding}] (output would be ${g.oh}x${g.ow})`,
    );
  }
  return { n, c, h, w, ...g, countIncludePad: win.countIncludePad };
}

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
  const stride = pair(options.stride ?? 1, "stride", 1);
  const padding = pair(options.padding ?? 0, "padding", 0);
  const dilation = pair(options.dilation ?? 1, "dilation", 1);
  const g = slide(h, w, [kh, kw], stride, padding, dilation);
  if (g.oh < 1 || g.ow < 1 || kh < 1 || kw < 1) {
    throw new Error(
      `conv2d: kernel ${kh}x${kw} (dilation ${dilation}) does not fit input ` +
        `${h}x${w} with padding ${g.padH},${g.padW}`,
    );
  }
  return { n, c, h, w, o, ...g, dilationH: dilation[0], dilationW: dilation[1], groups };
}

/** Checks that storages fit the params, so a kernel never reads out of bounds. */
export function checkPoolSizes(op: string, p: Pool2dParams, sizes: Record<string, number>) {
  const planes = p.n * p.c;
  const expected: Record<string, number> = {
    x: planes * p.h * p.w,
    gx: planes * p.h * p.w,
    y: planes * p.oh * p.ow,
    gy: planes * p.oh * p.ow,
    argmax: planes * p.oh * p.ow,
  };
  for (const [name, length] of Object.entries(sizes)) {
    if (length !== expected[name]) {
      throw new Error(`${op}: ${name} has ${length} elements, expected ${expected[name]}`);
    }
  }
}

/**
 * PyTorch's avg_pool2d divisor: the window clipped to the padded input when padding counts,
 * else to the input itself.
 */
export function avgDivisor(p: Pool2dParams, oy: number, ox: number): number {
  const hs = oy * p.strideH - p.padH;
  const ws = ox * p.strideW - p.padW;
  const he = Math.min(hs + p.kh, p.h + p.padH);
  const we = Math.min(ws + p.kw, p.w + p.padW);
  if (p.countIncludePad) return (he - hs) * (we - ws);
  return (Math.min(he, p.h) - Math.max(hs, 0)) * (Math.min(we, p.w) - Math.max(ws, 0));
}
