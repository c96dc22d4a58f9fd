/**
 * WebGPU side of gpu/shaders/matmul.wgsl: picks a tile shape for the adapter and problem size,
 * the vec4/scalar variant the shapes allow, and dispatches one workgroup per C tile per batch.
 */

import type { MatmulParams } from "../types.ts";
import { fill } from "./elementwise.ts";
import { matmulDefines, type TileConfig, type Variant } from "./matmul-codegen.ts";
import type { GpuRuntime, GpuStorage } from "./runtime.ts";
import type { MatmulBucket, TunedTiles } from "./tuned-tiles.ts";

/**
 * Tile shapes. Mesa's lavapipe runs 8 invocations as one 8-wide SIMD program and pays about as
 * much for one load as for a dozen multiply-adds, so its tiles are large register tiles fed
 * straight from storage: staging through workgroup memory measured 11% slower there (24% on the
 * scalar fallback), because every barrier is a coroutine switch that saves the whole register
 * tile. Hardware GPUs get the classic 16 x 16 workgroup with both tiles in workgroup memory:
 * 4 x 4 per invocation, or 8 x 8 (a 128 x 128 tile, twice the multiply-adds per shared load and
 * 64 accumulators, within a GPU's register file) where both sides of C fill several of them,
 * each loading its next tile into registers while it multiplies the current one (the SGEMM
 * habit of hiding load latency; `deno task tune` times it against the same tile without).
 * Lavapipe compiles large tiles slowly (cold, per variant: 32 x 32 about 6 s, 16 x 32 about
 * 2.5 s, 8 x 8 0.3 s; Mesa's shader cache keeps them across runs), so the tile grows with the
 * problem.
 */
export const TILES = {
  softwareLarge: { wgx: 8, wgy: 1, tm: 32, tn: 32, stageA: false, stageB: false, kb: 4 },
  softwareMedium: { wgx: 8, wgy: 1, tm: 16, tn: 32, stageA: false, stageB: false, kb: 4 },
  softwareSmall: { wgx: 8, wgy: 1, tm: 8, tn: 8, stageA: false, stageB: false, kb: 4 },
  softwareTiny: { wgx: 8, wgy: 1, tm: 4, tn: 4, stageA: false, stageB: false, kb: 4 },
  hardware: { wgx: 16, wgy: 16, tm: 4, tn: 4, stageA: true, stageB: true, kb: 16, prefetch: true },
  hardwareLarge: {
    wgx: 16,
    wgy: 16,
    tm: 8,
    tn: 8,
    stageA: true,
    stageB: true,
    kb: 8,
    prefetch: true,
  },
} satisfies Record<string, TileConfig>;

/** The hardware tile class of a problem: "large" where 128 x 128 tiles fill several times. */
export function matmulBucket(p: MatmulParams): MatmulBucket {
  return p.m >= 512 && p.n >= 512 ? "large" : "default";
}

/**
 * The tile shape for an adapter and a problem: big tiles only where they fill up; on a GPU the
 * one `deno task tune` measured fastest for the problem's class, where it ran.
 */
export function chooseTiles(
  software: boolean,
  p: MatmulParams,
  tuned: TunedTiles | null = null,
): TileConfig {
  if (!software) {
    const bucket = matmulBucket(p);
    return tuned?.matmul[bucket] ?? (bucket === "large" ? TILES.hardwareLarge : TILES.hardware);
  }
  if (p.m >= 128 && p.n >= 256 && p.k >= 64) return TILES.softwareLarge;
  if (p.m >= 32 && p.n >= 128 && p.k >= 32) return TILES.softwareMedium;
  if (p.m >= 8 && p.n >= 32) return TILES.softwareSmall;
  return TILES.softwareTiny;
}

/**
 * Which vec4 loads and stores the shapes and batch strides allow, and the operand precision
 * (staged half tiles only where the runtime's self-test passed).
 */
export function variantFor(p: MatmulParams, halfShared = false): Variant {
  const by4 = (x: number) => x % 4 === 0;
  return {
    transA: p.transA,
    transB: p.transB,
    aVec: (p.transA ? by4(p.m) : by4(p.k)) && by4(p.aBatchStride),
    bVec: (p.transB ? by4(p.k) : by4(p.n)) && by4(p.bBatchStride),
    cVec: by4(p.n),
    kTail: !by4(p.k),
    half: p.precision === "f16",
    halfShared,
  };
}

function check(a: GpuStorage, b: GpuStorage, p: MatmulParams): void {
  const dims = [p.batch, p.m, p.n, p.k, p.aBatchStride, p.bBatchStride];
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`matmul: invalid params ${JSON.stringify(p)}`);
  }
  const needA = (p.batch - 1) * p.aBatchStride + p.m * p.k;
  const needB = (p.batch - 1) * p.bBatchStride + p.k * p.n;
  if (a.length < needA || b.length < needB) {
    throw new Error(
      `matmul: operands of ${a.length} and ${b.length} elements are too small for ` +
        `${JSON.stringify(p)} (need ${needA} and ${needB})`,
    );
  }
  if (a.dtype !== "f32" || b.dtype !== "f32") throw new Error("matmul needs f32 operands");
  if (p.batch > 65535) throw new Error(`matmul: batch ${p.batch} exceeds 65535`);
}

/** Runs the matmul with a given tile shape (the probe and tests compare shapes). */
export function matmulWith(
  rt: GpuRuntime,
  a: GpuStorage,
  b: GpuStorage,
  p: MatmulParams,
  tiles: TileConfig,
): GpuStorage {
  check(a, b, p);
  const size = p.batch * p.m * p.n;
  if (size === 0 || p.k === 0) return fill(rt, size, 0, "f32");
  const c = rt.alloc(size, "f32");
  rt.run({
    family: "matmul",
    entry: "tiled",
    defines: matmulDefines(tiles, variantFor(p, rt.halfShared)),
    workgroupSize: [tiles.wgx, tiles.wgy, 1],
    dispatch: [
      Math.ceil(p.n / (tiles.wgx * tiles.tn)),
      Math.ceil(p.m / (tiles.wgy * tiles.tm)),
      p.batch,
    ],
    params: [
      { u32: p.m },
      { u32: p.n },
      { u32: p.k },
      { u32: p.aBatchStride },
      { u32: p.bBatchStride },
    ],
    inputs: [a, b],
    outputs: [c],
  });
  return c;
}

export function matmul(rt: GpuRuntime, a: GpuStorage, b: GpuStorage, p: MatmulParams): GpuStorage {
  return matmulWith(rt, a, b, p, chooseTiles(rt.adapter.tiles === "software", p, rt.adapter.tuned));
}
