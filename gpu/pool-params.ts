/**
 * Pooling arithmetic shared by both backends and nn/ops/pool.ts: PyTorch's output size (floor
 * mode), its argument checks, and the average pool's divisor, so the twins cannot drift apart.
 */

import type { Pool2dParams } from "./types.ts";

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
  const oh = Math.floor((h + 2 * padH - kh) / strideH) + 1;
  const ow = Math.floor((w + 2 * padW - kw) / strideW) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${op}: input [${shape}] is too small for kernel [${win.kernel}] with padding ` +
        `[${win.padding}] (output would be ${oh}x${ow})`,
    );
  }
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    oh,
    ow,
    countIncludePad: win.countIncludePad,
  };
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
