/**
 * Register tiles of the implicit-GEMM convolution kernels (gpu/shaders/conv.wgsl).
 *
 * Why generated code: on Mesa's llvmpipe every invocation reads memory lane by lane, so a read
 * costs as much as dozens of FMAs; an invocation therefore owns a large TM x TN accumulator tile
 * (up to 16 x 16), which only stays in registers (and fast spill slots) when written out as named
 * variables. WGSL arrays indexed in loops measured 4x slower there. A hardware GPU runs the same
 * register-blocked GEMM with its own, smaller tiles (hardwareTile).
 */

import type { TileClass } from "./runtime.ts";
import type { ConvBucket, ConvShape, TunedTiles } from "./tuned-tiles.ts";

/**
 * One tile shape: TM x TN outputs per invocation, GX x GY invocations, TK-deep k slices, and
 * whether the next slice is loaded into registers while the current one is multiplied.
 */
export interface TileConfig {
  tm: number;
  tn: number;
  gx: number;
  gy: number;
  tk: number;
  prefetch?: boolean;
}

/** k rows staged per barrier; larger values unroll further and compile much slower on llvmpipe. */
const TK = 8;

/**
 * The tile for a GEMM of m (spatial side) by n (channel side) on this class of adapter; on a GPU
 * the register tile `deno task tune` measured fastest for the problem's class, where it ran.
 */
export function chooseTile(
  m: number,
  n: number,
  tiles: TileClass = "software",
  tuned: TunedTiles | null = null,
): TileConfig {
  if (tiles === "software") return softwareTile(m, n);
  const bucket = convBucket(m, n);
  return hardwareTile(n, bucket, tuned?.conv[bucket] ?? HARDWARE_SHAPES[bucket]);
}

/**
 * llvmpipe: 16 x 16 per invocation where both sides fill it, narrower where a side is small
 * (grouped convs, first layers). Above 64 channels a workgroup spans 128 of them, so each staged
 * im2col value feeds twice the FMAs.
 */
function softwareTile(m: number, n: number): TileConfig {
  const [tm, gx] = m >= 192 ? [16, 16] : [8, 8];
  const tn = n > 32 ? 16 : n > 16 ? 8 : 4;
  return { tm, tn, gx, gy: n > 64 ? 8 : 4, tk: TK };
}

/**
 * A GPU keeps a tile in its register file only up to about 64 accumulators per invocation
 * (NVIDIA: 255 registers per thread; the 256 of the software tile spill to local memory), and
 * hides memory latency with many invocations per workgroup. So: 16 invocations along the
 * pixels, 4 x 4 per invocation (64 x 64 per 256 invocations), 8 x 8 where both sides are
 * large (128 x 128, the classic SGEMM shape), and fewer invocations along the channels where a
 * group has few of them (ResNeXt's 8 per group in its first stage), so no half-empty tiles.
 * k is staged 16 deep: 16 KiB of workgroup memory at the largest tile, the WebGPU minimum; the
 * next slice is loaded into registers during the current slice's multiply-adds.
 */
export const HARDWARE_SHAPES: Record<ConvBucket, ConvShape> = {
  big: { tm: 8, tn: 8, tk: 16, prefetch: true },
  narrow: { tm: 4, tn: 4, tk: 16, prefetch: true },
  default: { tm: 4, tn: 4, tk: 16, prefetch: true },
};

/** The hardware tile class of a GEMM: both sides large, few channels, or the rest. */
export function convBucket(m: number, n: number): ConvBucket {
  if (m >= 8192 && n > 64) return "big";
  return n <= 16 ? "narrow" : "default";
}

/** 16 invocations along the pixels; along the channels 16, or as few as the channels fill. */
export function hardwareTile(n: number, bucket: ConvBucket, shape: ConvShape): TileConfig {
  const fill = 2 ** Math.ceil(Math.log2(Math.max(n / shape.tn, 1)));
  const gy = bucket === "big" ? 16 : Math.min(16, Math.max(2, fill));
  const tile: TileConfig = { tm: shape.tm, tn: shape.tn, gx: 16, gy, tk: shape.tk };
  return shape.prefetch ? { ...tile, prefetch: true } : tile;
}

export function tileWidth(t: TileConfig): { bm: number; bn: number; wg: number } {
  return { bm: t.gx * t.tm, bn: t.gy * t.tn, wg: t.gx * t.gy };
}

/**
 * How a GEMM pass rounds at the f16 operand precision (gpu/types.ts GemmPrecision): `half`
 * rounds both staged operands; `store` rounds the result, except where a split sum follows
 * (gradWeight's partials stay f32 and `splitSum` rounds their total); `shared` holds the staged
 * tiles as f16, where the runtime's shader-f16 self-test passed (half-tiles.ts).
 */
export interface Rounding {
  half: boolean;
  store: boolean;
  shared: boolean;
}

const F32_ROUNDING: Rounding = { half: false, store: false, shared: false };

/** A staged quad as it is written to workgroup memory. */
function staged(quad: string, r: Rounding): string {
  if (!r.half) return quad;
  return r.shared ? `vec4<f16>(roundHalf4(${quad}))` : `roundHalf4(${quad})`;
}

/** Every `{{KEY}}` the GEMM kernels of conv.wgsl need for this tile and rounding. */
export function tileDefines(
  t: TileConfig,
  r: Rounding = F32_ROUNDING,
): Record<string, string | number> {
  const { bm, bn, wg } = tileWidth(t);
  const bm4 = bm / 4;
  const bn4 = bn / 4;
  const aRows = wg / bm4;
  if (!Number.isInteger(aRows) || t.tk % aRows !== 0 || t.tm % 4 !== 0 || t.tn % 4 !== 0) {
    throw new Error(`conv tile ${JSON.stringify(t)} does not divide its workgroup evenly`);
  }
  return {
    GX: t.gx,
    BM: bm,
    BN: bn,
    BM4: bm4,
    BN4: bn4,
    TK: t.tk,
    LAG: t.prefetch ? t.tk : 0,
    A_ITEMS: t.tk * bm4,
    B_ITEMS: t.tk * bn4,
    A_ROWS: aRows,
    A_PASSES: t.tk / aRows,
    B_PASSES: Math.ceil((t.tk * bn4) / wg),
    ACC_DECL: accDecl(t),
    ACC_STEP: accStep(t, bm4, bn4, r.half && r.shared),
    ACC_STORE: accStore(t, r.half && r.store),
    TILE: r.half && r.shared ? "vec4<f16>" : "vec4<f32>",
    A_STAGED: staged("aQuad", r),
    B_STAGED: staged("bQuad", r),
    ENABLES: r.half && r.shared ? "enable f16;" : "",
  };
}

const acc = (i: number, j: number) => `c${i}_${j}`;
const LANE = ["x", "y", "z", "w"];

function accDecl(t: TileConfig): string {
  const lines: string[] = [];
  for (let j = 0; j < t.tn; j++) {
    for (let i = 0; i < t.tm / 4; i++) lines.push(`var ${acc(i, j)} = vec4<f32>(0.0);`);
  }
  return lines.join("\n  ");
}

/**
 * One k step: TM/4 vec4 reads of A (this invocation's pixels), TN/4 of B, TM*TN FMAs; f16
 * tiles widen to f32 as they are read, so products still accumulate in f32.
 */
function accStep(t: TileConfig, bm4: number, bn4: number, halfTiles: boolean): string {
  const read = (tile: string) => halfTiles ? `vec4<f32>(${tile})` : tile;
  const lines: string[] = [];
  for (let i = 0; i < t.tm / 4; i++) {
    lines.push(`let a${i} = ${read(`As[kk * ${bm4} + lx + ${i * t.gx}]`)};`);
  }
  for (let j = 0; j < t.tn / 4; j++) {
    lines.push(`let b${j} = ${read(`Bs[kk * ${bn4} + ly * ${t.tn / 4} + ${j}]`)};`);
  }
  for (let j = 0; j < t.tn; j++) {
    const b = `vec4<f32>(b${j >> 2}.${LANE[j & 3]})`;
    for (let i = 0; i < t.tm / 4; i++) {
      lines.push(`${acc(i, j)} = fma(a${i}, ${b}, ${acc(i, j)});`);
    }
  }
  return lines.join("\n      ");
}

/**
 * Hands the accumulators to the kernel's `rowBase(m, n)` (offset of output (m, n), or -1 past
 * the last row), `nStride()` (the distance between channels) and `nCount()` (valid channels). Stores go
 * in descending channel order with the channel clamped to the last valid one, so the clamped
 * stores are overwritten by the right value and no store needs its own branch: 256 guarded
 * stores took llvmpipe seconds to compile. `round` stores each value rounded to half.
 */
function accStore(t: TileConfig, round: boolean): string {
  const lines = [
    `let nb = n0 + ly * ${t.tn};`,
    `let last = nCount() - 1 - nb;`,
    `let nStep = nStride();`,
  ];
  for (let i = 0; i < t.tm / 4; i++) {
    for (let e = 0; e < 4; e++) {
      lines.push(`{`, `  let base = rowBase(m0 + (lx + ${i * t.gx}) * 4 + ${e}, nb);`);
      lines.push(`  if (base >= 0 && last >= 0) {`);
      for (let j = t.tn - 1; j >= 0; j--) {
        const at = j === 0 ? "base" : `base + min(${j}, last) * nStep`;
        const value = `${acc(i, j)}.${LANE[e]}`;
        lines.push(`    OUT[${at}] = ${round ? `roundHalf(${value})` : value};`);
      }
      lines.push(`  }`, `}`);
    }
  }
  return lines.join("\n  ");
}
