/**
 * WebGPU side of gpu/shaders/conv.wgsl: conv2d forward, grad input and grad weight as implicit
 * GEMMs with register tiles (see conv-tile.ts); depthwise convolutions go to depthwise.ts.
 */

import type { Conv2dParams } from "../types.ts";
import { chooseTile, type Rounding, type TileConfig, tileDefines, tileWidth } from "./conv-tile.ts";
import { windowParams } from "./conv-window.ts";
import {
  depthwiseForward,
  depthwiseGradInput,
  depthwiseGradWeight,
  isDepthwise,
} from "./depthwise.ts";
import { GpuRuntime, type GpuStorage, type ParamValue, type TileClass } from "./runtime.ts";

const LINEAR_WG = [256, 1, 1] as const;

/** A kernel of one invocation per element (its record opens with the count) into `total` fresh floats. */
function perElement(
  rt: GpuRuntime,
  entry: "pack" | "splitSum",
  input: GpuStorage,
  total: number,
  params: ParamValue[],
  defines: Record<string, string> = {},
): GpuStorage {
  const out = rt.alloc(total, "f32");
  rt.run({
    family: "conv",
    entry,
    defines,
    workgroupSize: LINEAR_WG,
    dispatch: GpuRuntime.grid(Math.ceil(total / LINEAR_WG[0])),
    params: [{ u32: total }, ...params],
    inputs: [input],
    outputs: [out],
  });
  return out;
}
/** Float-reciprocal division in the kernels is exact below 2^24; 65535 workgroups of 256 pixels
 * stay just under it. */
const MAX_INDEX = 65535 * 256;

const i = (v: number): ParamValue => ({ i32: v });
const inv = (v: number): ParamValue => ({ f32: 1 / v });
const ceilTo = (v: number, m: number) => Math.ceil(v / m) * m;

/** The GEMM kernels decode pixel and tap indices by float-reciprocal division. */
function checkSizes(p: Conv2dParams): void {
  // Pixel counts, and the k extents the kernels decode into (channel, tap).
  const biggest = Math.max(
    p.n * p.h * p.w,
    p.n * p.oh * p.ow,
    p.c * p.kh * p.kw,
    p.o * p.kh * p.kw,
  );
  if (biggest >= MAX_INDEX) {
    throw new Error(
      `conv2d: ${biggest} rows exceed the WebGPU kernels' index range (${MAX_INDEX}); ` +
        `split the batch (n=${p.n}, ${p.h}x${p.w})`,
    );
  }
}

/** Weights as the B operand [g][k][n], zero-padded to whole tiles (see kernel `pack`). */
function packWeights(
  rt: GpuRuntime,
  w: GpuStorage,
  p: Conv2dParams,
  forGradInput: boolean,
  tile: TileConfig,
): { packed: GpuStorage; kpad: number; npad: number } {
  const khw = p.kh * p.kw;
  const cg = p.c / p.groups;
  const og = p.o / p.groups;
  const kg = (forGradInput ? og : cg) * khw;
  const ng = forGradInput ? cg : og;
  const kpad = ceilTo(kg, tile.tk);
  const npad = ceilTo(ng, tileWidth(tile).bn);
  const total = p.groups * kpad * npad;
  const packed = perElement(rt, "pack", w, total, [
    i(kg),
    i(ng),
    i(kpad),
    i(npad),
    i(khw),
    i(og * cg * khw),
    i(forGradInput ? cg * khw : khw),
    i(forGradInput ? khw : cg * khw),
  ]);
  return { packed, kpad, npad };
}

/**
 * One pass of the `gemm` template: its rows m, its k extent kg (padded to kpad) and packed B
 * columns / 4, the staged k range kTotal (kpad, or gradWeight's pixel sum split `splits` ways,
 * perSplit each), where output (m, n) goes (conv.wgsl's rowBase: dstC channels, nCount per
 * group, nStride apart), and the grids its rows and its k decode over ([plane, width]: an image's
 * pixels, or a filter's taps).
 */
interface Pass {
  m: number;
  kg: number;
  kpad: number;
  npad4: number;
  kTotal: number;
  perSplit: number;
  splits: number;
  dstC: number;
  nCount: number;
  nStride: number;
  rowGrid: [number, number];
  kGrid: [number, number];
}

/** The one parameter record every pass of the `gemm` template reads (conv.wgsl's Params). */
function gemmParams(p: Conv2dParams, e: Pass): ParamValue[] {
  const cg = p.c / p.groups;
  const og = p.o / p.groups;
  return [
    ...windowParams(p),
    ...[e.m, e.kg, e.kpad, e.npad4, cg, p.o, og, p.h * p.w, p.oh * p.ow].map(i),
    ...[e.kTotal, e.perSplit, e.splits, e.dstC, e.nCount, e.nStride].map(i),
    ...[...e.rowGrid, ...e.kGrid].map(i),
    ...[...e.rowGrid, ...e.kGrid, e.nStride].map(inv),
  ];
}

/**
 * How a pass rounds at its params' precision: its result only where no split sum follows, its
 * staged tiles in f16 only where the runtime's self-test allows (half-tiles.ts).
 */
function roundingFor(rt: GpuRuntime, p: Conv2dParams, splits: number): Rounding {
  const half = p.precision === "f16";
  return { half, store: half && splits === 1, shared: half && rt.halfShared };
}

/** Runs one pass of the `gemm` template over (m tiles, n tiles, groups x splits) workgroups. */
function runGemm(
  rt: GpuRuntime,
  entry: "forward" | "gradInput" | "gradWeight",
  p: Conv2dParams,
  pass: Pass,
  tile: TileConfig,
  inputs: [GpuStorage, GpuStorage],
  out: GpuStorage,
): void {
  const { bm, bn, wg } = tileWidth(tile);
  rt.run({
    family: "conv",
    entry,
    defines: tileDefines(tile, roundingFor(rt, p, pass.splits)),
    workgroupSize: [wg, 1, 1],
    dispatch: [
      Math.ceil(pass.m / bm),
      Math.ceil(pass.nCount / bn),
      p.groups * pass.splits,
    ],
    params: gemmParams(p, pass),
    inputs,
    outputs: [out],
  });
}

/**
 * The passes whose B operand is the packed weight: forward (gy from x; m = output pixels, n =
 * output channels) and gradInput (gx from gy; m = input pixels, n = input channels).
 */
function packedPass(
  rt: GpuRuntime,
  entry: "forward" | "gradInput",
  src: GpuStorage,
  w: GpuStorage,
  p: Conv2dParams,
): GpuStorage {
  checkSizes(p);
  const back = entry === "gradInput";
  const [dstC, srcC] = back ? [p.c, p.o] : [p.o, p.c];
  const pixels = back ? p.h * p.w : p.oh * p.ow;
  const nCount = dstC / p.groups;
  const m = p.n * pixels;
  const tile = chooseTile(m, nCount, rt.adapter.tiles, rt.adapter.tuned);
  const { packed, kpad, npad } = packWeights(rt, w, p, back, tile);
  const out = rt.alloc(p.n * dstC * pixels, "f32");
  const kg = (srcC / p.groups) * p.kh * p.kw;
  const pass: Pass = {
    m,
    kg,
    kpad,
    npad4: npad / 4,
    kTotal: kpad,
    perSplit: kpad,
    splits: 1,
    dstC,
    nCount,
    nStride: pixels,
    rowGrid: back ? [p.h * p.w, p.w] : [p.oh * p.ow, p.ow],
    kGrid: [p.kh * p.kw, p.kw],
  };
  runGemm(rt, entry, p, pass, tile, [src, packed], out);
  rt.release(packed);
  return out;
}

export function conv2d(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, p: Conv2dParams): GpuStorage {
  return isDepthwise(p) ? depthwiseForward(rt, x, w, p) : packedPass(rt, "forward", x, w, p);
}

export function conv2dGradInput(
  rt: GpuRuntime,
  gy: GpuStorage,
  w: GpuStorage,
  p: Conv2dParams,
): GpuStorage {
  return isDepthwise(p) ? depthwiseGradInput(rt, gy, w, p) : packedPass(rt, "gradInput", gy, w, p);
}

/**
 * Workgroups the weight gradient aims for: llvmpipe's few cores fill with 32, a GPU's hundred-odd
 * compute units want several each.
 */
const SPLIT_TARGET: Record<TileClass, number> = { software: 32, hardware: 1024 };

/** The weight gradient's partial sums stay under 256 MiB. */
const MAX_PARTIAL_FLOATS = 64 * 1024 * 1024;

/** Enough slices of the pixel sum to keep every core busy, each long enough to amortise setup. */
function splitCount(
  workgroups: number,
  pixels: number,
  target: number,
  minPerSplit: number,
) {
  const wanted = Math.ceil(target / Math.max(workgroups, 1));
  return Math.max(1, Math.min(wanted, 64, Math.floor(pixels / minPerSplit)));
}

/**
 * Adds `splits` partial results of `length` elements each into one fresh buffer; an f16 pass's
 * partials are f32, so the total is what rounds to half.
 */
function splitSum(
  rt: GpuRuntime,
  partial: GpuStorage,
  splits: number,
  length: number,
  p: Conv2dParams,
) {
  const round = p.precision === "f16" ? "roundHalf" : "";
  const out = perElement(rt, "splitSum", partial, length, [{ u32: splits }], { ROUND: round });
  rt.release(partial);
  return out;
}

export function conv2dGradWeight(
  rt: GpuRuntime,
  x: GpuStorage,
  gy: GpuStorage,
  p: Conv2dParams,
): GpuStorage {
  if (isDepthwise(p)) {
    const { partial, splits, length } = depthwiseGradWeight(rt, x, gy, p);
    return splits === 1 ? partial : splitSum(rt, partial, splits, length, p);
  }
  checkSizes(p);
  const cg = p.c / p.groups;
  const og = p.o / p.groups;
  const m = cg * p.kh * p.kw;
  const pixels = p.n * p.oh * p.ow;
  const tile = chooseTile(m, og, rt.adapter.tiles, rt.adapter.tuned);
  const { bm, bn } = tileWidth(tile);
  const mTiles = Math.ceil(m / bm);
  const nTiles = Math.ceil(og / bn);
  const splits = Math.min(
    splitCount(mTiles * nTiles * p.groups, pixels, SPLIT_TARGET[rt.adapter.tiles], 256),
    Math.floor(65535 / p.groups),
    Math.max(1, Math.floor(MAX_PARTIAL_FLOATS / (p.o * m))),
  );
  const perSplit = ceilTo(Math.ceil(pixels / splits), tile.tk);
  const length = p.o * m;
  const partial = rt.alloc(splits * length, "f32");
  const pass: Pass = {
    m,
    kg: 0,
    kpad: 0,
    npad4: 0,
    kTotal: pixels,
    perSplit,
    splits,
    dstC: p.o,
    nCount: og,
    nStride: m,
    rowGrid: [p.kh * p.kw, p.kw],
    kGrid: [p.oh * p.ow, p.ow],
  };
  runGemm(rt, "gradWeight", p, pass, tile, [x, gy], partial);
  return splits === 1 ? partial : splitSum(rt, partial, splits, length, p);
}
