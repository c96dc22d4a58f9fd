/**
 * WebGPU side of gpu/shaders/conv.wgsl: conv2d forward, grad input and grad weight as implicit
 * GEMMs with register tiles (see conv-tile.ts); depthwise convolutions go to depthwise.ts.
 */

import type { Conv2dParams } from "../types.ts";
import { chooseTile, type TileConfig, tileDefines, tileWidth } from "./conv-tile.ts";
import {
  depthwiseForward,
  depthwiseGradInput,
  depthwiseGradWeight,
  isDepthwise,
} from "./depthwise.ts";
import { GpuRuntime, type GpuStorage, type ParamValue } from "./runtime.ts";

const LINEAR_WG = [256, 1, 1] as const;
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
  const packed = rt.alloc(total, "f32");
  rt.run({
    family: "conv",
    entry: "pack",
    workgroupSize: LINEAR_WG,
    dispatch: GpuRuntime.grid(Math.ceil(total / LINEAR_WG[0])),
    params: [
      { u32: total },
      i(kg),
      i(ng),
      i(kpad),
      i(npad),
      i(khw),
      i(og * cg * khw),
      i(forGradInput ? cg * khw : khw),
      i(forGradInput ? khw : cg * khw),
    ],
    inputs: [w],
    outputs: [packed],
  });
  return { packed, kpad, npad };
}

function gemmKernel(tile: TileConfig) {
  const { wg } = tileWidth(tile);
  return { defines: tileDefines(tile), workgroupSize: [wg, 1, 1] as const };
}

function spatialParams(p: Conv2dParams): ParamValue[] {
  return [i(p.strideH), i(p.strideW), i(p.padH), i(p.padW), i(p.dilationH), i(p.dilationW)];
}

export function conv2d(rt: GpuRuntime, x: GpuStorage, w: GpuStorage, p: Conv2dParams): GpuStorage {
  if (isDepthwise(p)) return depthwiseForward(rt, x, w, p);
  checkSizes(p);
  const cg = p.c / p.groups;
  const og = p.o / p.groups;
  const m = p.n * p.oh * p.ow;
  const tile = chooseTile(m, og);
  const { bm, bn } = tileWidth(tile);
  const { packed, kpad, npad } = packWeights(rt, w, p, false, tile);
  const y = rt.alloc(p.n * p.o * p.oh * p.ow, "f32");
  rt.run({
    family: "conv",
    entry: "forward",
    ...gemmKernel(tile),
    dispatch: [Math.ceil(m / bm), Math.ceil(og / bn), p.groups],
    params: [
      i(m),
      i(p.oh * p.ow),
      i(p.ow),
      i(p.c),
      i(p.h),
      i(p.w),
      i(cg),
      i(og),
      i(p.o),
      i(cg * p.kh * p.kw),
      i(kpad),
      i(npad / 4),
      i(p.kh * p.kw),
      i(p.kw),
      ...spatialParams(p),
      inv(p.oh * p.ow),
      inv(p.ow),
      inv(p.kh * p.kw),
      inv(p.kw),
    ],
    inputs: [x, packed],
    outputs: [y],
  });
  rt.release(packed);
  return y;
}

export function conv2dGradInput(
  rt: GpuRuntime,
  gy: GpuStorage,
  w: GpuStorage,
  p: Conv2dParams,
): GpuStorage {
  if (isDepthwise(p)) return depthwiseGradInput(rt, gy, w, p);
  checkSizes(p);
  const cg = p.c / p.groups;
  const og = p.o / p.groups;
  const m = p.n * p.h * p.w;
  const tile = chooseTile(m, cg);
  const { bm, bn } = tileWidth(tile);
  const { packed, kpad, npad } = packWeights(rt, w, p, true, tile);
  const gx = rt.alloc(p.n * p.c * p.h * p.w, "f32");
  rt.run({
    family: "conv",
    entry: "gradInput",
    ...gemmKernel(tile),
    dispatch: [Math.ceil(m / bm), Math.ceil(cg / bn), p.groups],
    params: [
      i(m),
      i(p.h * p.w),
      i(p.w),
      i(p.h),
      i(p.o),
      i(og),
      i(cg),
      i(p.c),
      i(p.oh),
      i(p.ow),
      i(og * p.kh * p.kw),
      i(kpad),
      i(npad / 4),
      i(p.kh * p.kw),
      i(p.kw),
      ...spatialParams(p),
      inv(p.h * p.w),
      inv(p.w),
      inv(p.kh * p.kw),
      inv(p.kw),
      inv(p.strideH),
      inv(p.strideW),
    ],
    inputs: [gy, packed],
    outputs: [gx],
  });
  rt.release(packed);
  return gx;
}

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

/** Adds `splits` partial results of `length` elements each into one fresh buffer. */
function splitSum(rt: GpuRuntime, partial: GpuStorage, splits: number, length: number) {
  const out = rt.alloc(length, "f32");
  rt.run({
    family: "conv",
    entry: "splitSum",
    workgroupSize: LINEAR_WG,
    dispatch: GpuRuntime.grid(Math.ceil(length / LINEAR_WG[0])),
    params: [{ u32: length }, { u32: splits }],
    inputs: [partial],
    outputs: [out],
  });
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
    return splits === 1 ? partial : splitSum(rt, partial, splits, length);
  }
  checkSizes(p);
  const cg = p.c / p.groups;
  const og = p.o / p.groups;
  const m = cg * p.kh * p.kw;
  const pixels = p.n * p.oh * p.ow;
  const tile = chooseTile(m, og);
  const { bm, bn } = tileWidth(tile);
  const mTiles = Math.ceil(m / bm);
  const nTiles = Math.ceil(og / bn);
  const splits = Math.min(
    splitCount(mTiles * nTiles * p.groups, pixels, 32, 256),
    Math.floor(65535 / p.groups),
  );
  const perSplit = ceilTo(Math.ceil(pixels / splits), tile.tk);
  const length = p.o * m;
  const partial = rt.alloc(splits * length, "f32");
  rt.run({
    family: "conv",
    entry: "gradWeight",
    ...gemmKernel(tile),
    dispatch: [mTiles, nTiles, p.groups * splits],
    params: [
      i(m),
      i(pixels),
      i(perSplit),
      i(splits),
      i(p.oh * p.ow),
      i(p.ow),
      i(p.c),
      i(p.h),
      i(p.w),
      i(cg),
      i(og),
      i(p.o),
      i(p.kh * p.kw),
      i(p.kw),
      ...spatialParams(p),
      inv(p.oh * p.ow),
      inv(p.ow),
      inv(p.kh * p.kw),
      inv(p.kw),
    ],
    inputs: [x, gy],
    outputs: [partial],
  });
  return splits === 1 ? partial : splitSum(rt, partial, splits, length);
}
