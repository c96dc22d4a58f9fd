/**
 * CPU twins of gpu/shaders/pool.wgsl. The max pool's argmax is the flat index into the input
 * plane (iy * W + ix), as PyTorch's return_indices gives; ties go to the first cell of the window
 * in row-major order (PyTorch's CPU rule), so both backends pick the same cell.
 */

import type { HostStorage, Pool2dParams } from "../types.ts";
import { avgDivisor, checkPoolSizes } from "../window-params.ts";
import { f32, i32, wrap } from "./storage.ts";

/**
 * Visits every output of a pool (flat index `o`, in y's order) with the input cells its window
 * covers, in row-major order, as indices into the plane (what an argmax records), and the
 * plane's offset in the batch. The three window kernels share it, so they agree on every window.
 */
function forEachWindow(
  p: Pool2dParams,
  visit: (o: number, base: number, cells: readonly number[], oy: number, ox: number) => void,
): void {
  const cells: number[] = [];
  let o = 0;
  for (let plane = 0; plane < p.n * p.c; plane++) {
    const base = plane * p.h * p.w;
    for (let oy = 0; oy < p.oh; oy++) {
      const hs = oy * p.strideH - p.padH;
      for (let ox = 0; ox < p.ow; ox++, o++) {
        const ws = ox * p.strideW - p.padW;
        cells.length = 0;
        for (let iy = Math.max(hs, 0); iy < Math.min(hs + p.kh, p.h); iy++) {
          for (let ix = Math.max(ws, 0); ix < Math.min(ws + p.kw, p.w); ix++) {
            cells.push(iy * p.w + ix);
          }
        }
        visit(o, base, cells, oy, ox);
      }
    }
  }
}

export function maxPool2d(
  x: HostStorage,
  p: Pool2dParams,
): { y: HostStorage; argmax: HostStorage } {
  const xs = f32(x);
  checkPoolSizes("maxPool2d", p, { x: xs.length });
  const y = new Float32Array(p.n * p.c * p.oh * p.ow);
  const arg = new Int32Array(y.length);
  forEachWindow(p, (o, base, cells) => {
    let best = -Infinity;
    let at = -1;
    for (const cell of cells) {
      const v = xs[base + cell];
      // Padding is -inf and never wins; NaN propagates, as in PyTorch.
      if (v > best || Number.isNaN(v) || at < 0) {
        best = v;
        at = cell;
      }
    }
    y[o] = best;
    arg[o] = at;
  });
  return { y: wrap(y), argmax: wrap(arg) };
}

/** Each output's gradient goes to the cell its argmax names; overlapping windows add up. */
export function maxPool2dBackward(
  gy: HostStorage,
  argmax: HostStorage,
  p: Pool2dParams,
): HostStorage {
  const g = f32(gy);
  const arg = i32(argmax);
  checkPoolSizes("maxPool2dBackward", p, { gy: g.length, argmax: arg.length });
  const gx = new Float32Array(p.n * p.c * p.h * p.w);
  const plane = p.oh * p.ow;
  for (let o = 0; o < g.length; o++) {
    if (arg[o] < 0) continue;
    gx[Math.floor(o / plane) * p.h * p.w + arg[o]] += g[o];
  }
  return wrap(gx);
}

export function avgPool2d(x: HostStorage, p: Pool2dParams): HostStorage {
  const xs = f32(x);
  checkPoolSizes("avgPool2d", p, { x: xs.length });
  const y = new Float32Array(p.n * p.c * p.oh * p.ow);
  forEachWindow(p, (o, base, cells, oy, ox) => {
    let sum = 0;
    for (const cell of cells) sum = Math.fround(sum + xs[base + cell]);
    y[o] = sum / avgDivisor(p, oy, ox);
  });
  return wrap(y);
}

/** Each window hands gy / divisor to every input cell it covers. */
export function avgPool2dBackward(gy: HostStorage, p: Pool2dParams): HostStorage {
  const g = f32(gy);
  checkPoolSizes("avgPool2dBackward", p, { gy: g.length });
  const gx = new Float32Array(p.n * p.c * p.h * p.w);
  forEachWindow(p, (o, base, cells, oy, ox) => {
    const share = Math.fround(g[o] / avgDivisor(p, oy, ox));
    for (const cell of cells) gx[base + cell] += share;
  });
  return wrap(gx);
}
