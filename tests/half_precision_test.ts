/**
 * The f16 operand precision of the GEMM family (gpu/types.ts GemmPrecision): the host definition
 * against IEEE half rounding, and every WebGPU matmul tile shape and the convolution passes
 * (GEMM and depthwise), with f32 and with f16 staged tiles, bit for bit against the CPU twin.
 * Operands are chosen so that every sum is exact in f32 (multiples of 1/16 up to 4), a product
 * with the identity, or a sum of two half values, so any summation order gives the same bits and
 * a missing rounding of either operand or of the result shows as a mismatch.
 */

import type { Backend, Conv2dParams, MatmulParams } from "../gpu/backend.ts";
import { roundToHalf } from "../gpu/half-operands.ts";
import type { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { enableHalfTiles } from "../gpu/webgpu/half-tiles.ts";
import { matmulWith, TILES } from "../gpu/webgpu/matmul.ts";
import type { TileConfig } from "../gpu/webgpu/matmul-codegen.ts";
import type { GpuStorage } from "../gpu/webgpu/runtime.ts";
import { type Conv2dOptions, conv2dParams } from "../gpu/window-params.ts";
import { assertEqual } from "./support/assert.ts";
import { cpu, gpuHardwareTilesOrNull, gpuOrNull, wasmBackend } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";

function params(m: number, n: number, k: number, transA: boolean, transB: boolean): MatmulParams {
  return {
    batch: 2,
    m,
    n,
    k,
    transA,
    transB,
    aBatchStride: m * k,
    bBatchStride: k * n,
    precision: "f16",
  };
}

/** Multiples of 1/16 in [-4, 4]: products and sums of a few hundred are exact in f32. */
function dyadic(n: number, seed: number): Float32Array {
  return randomValues(n, seed).map((v) => Math.round(v * 64) / 16);
}

/** Wide-ranging values that half must round: 2^-30 .. 2^15.5 in magnitude (finite in half), both signs. */
function wide(n: number, seed: number): Float32Array {
  const u = randomValues(n, seed);
  return u.map((v, i) => Math.sign(v) * 2 ** (-30 + 45 * Math.abs(v)) * (1 + (i % 7) / 13));
}

/** Batches of identity matrices of side s (the same either way round). */
function identity(s: number): Float32Array {
  const out = new Float32Array(2 * s * s);
  for (let b = 0; b < 2; b++) for (let i = 0; i < s; i++) out[b * s * s + i * s + i] = 1;
  return out;
}

/** The three operand pairs of a shape: exact sums, A through identity, identity through B. */
function operandPairs(m: number, n: number, k: number): [string, Float32Array, Float32Array][] {
  const pairs: [string, Float32Array, Float32Array][] = [
    ["result", dyadic(2 * m * k, m + k), dyadic(2 * k * n, n + 3 * k)],
  ];
  if (k === n) pairs.push(["wide x I", wide(2 * m * k, m), identity(k)]);
  if (m === k) pairs.push(["I x wide", identity(k), wide(2 * k * n, n)]);
  return pairs;
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

async function product(backend: Backend, a: Float32Array, b: Float32Array, p: MatmulParams) {
  return await backend.read(
    backend.matmul(backend.upload(a), backend.upload(b), p),
  ) as Float32Array;
}

Deno.test("f16 matmul on the host is the f32 product of half-rounded operands, rounded to half", async () => {
  const a = wide(2 * 6 * 5, 1);
  const b = wide(2 * 5 * 7, 2);
  const p = params(6, 7, 5, false, false);
  const got = await product(cpu, a, b, p);
  const [ra, rb] = [a.slice(), b.slice()];
  roundToHalf(ra);
  roundToHalf(rb);
  const expected = await product(cpu, ra, rb, { ...p, precision: "f32" });
  roundToHalf(expected);
  assertEqual(Array.from(bitsOf(got)), Array.from(bitsOf(expected)), "cpu f16 matmul");
  const overflow = await product(cpu, new Float32Array([300, 300]), new Float32Array([300, 1]), {
    ...params(1, 1, 2, false, false),
    batch: 1,
  });
  assertEqual(overflow[0], Infinity, "300 x 300 + 300 overflows half");
  const wasm = await wasmBackend();
  assertEqual(Array.from(bitsOf(await product(wasm, a, b, p))), Array.from(bitsOf(got)), "wasm");
});

const CASES: [string, TileConfig, number, number, number][] = [
  ["tiny", TILES.softwareTiny, 3, 5, 5],
  ["small", TILES.softwareSmall, 17, 17, 17],
  ["hardware", TILES.hardware, 33, 20, 20],
  ["hardware", TILES.hardware, 20, 67, 20],
  ["hardware large", TILES.hardwareLarge, 132, 136, 136],
  ["staged A", { ...TILES.softwareSmall, stageA: true, kb: 8 }, 12, 40, 12],
];

Deno.test("f16 matmul: every WebGPU tile shape and transpose matches the CPU twin bit for bit", async () => {
  const gpu = (await gpuOrNull()) as WebGpuBackend | null;
  if (!gpu) return;
  const halfTiles = await enableHalfTiles(gpu.rt);
  if (halfTiles !== null) console.warn(`f16 staged tiles not tested: ${halfTiles}`);
  const modes = halfTiles === null ? [false, true] : [false];
  try {
    for (const halfShared of modes) {
      gpu.rt.halfShared = halfShared;
      for (const [name, tiles, m, n, k] of CASES) {
        for (
          const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]
        ) {
          const p = params(m, n, k, transA, transB);
          for (const [kind, a, b] of operandPairs(m, n, k)) {
            const expected = await product(cpu, a, b, p);
            const out = matmulWith(
              gpu.rt,
              gpu.upload(a) as GpuStorage,
              gpu.upload(b) as GpuStorage,
              p,
              tiles,
            );
            const got = await gpu.read(out) as Float32Array;
            const label = `${name} ${kind} half tiles ${halfShared} ${JSON.stringify(p)}`;
            assertEqual(Array.from(bitsOf(got)), Array.from(bitsOf(expected)), label);
          }
        }
      }
    }
  } finally {
    gpu.rt.halfShared = false;
  }
});

type Pass = "conv2d" | "conv2dGradInput" | "conv2dGradWeight";

/** A convolution and the operand pairs its passes run: (x, w), (gy, w), (x, gy). */
interface ConvCase {
  name: string;
  p: Conv2dParams;
  /** The pass, whose rounding the operands a and b make visible (the result's, or theirs), a, b. */
  runs: [Pass, "result" | "operands", Float32Array, Float32Array][];
  /** Whether the weight gradient sums its split slices (a second dispatch). */
  splits: boolean;
}

function convParams(x: number[], w: number[], opts: Conv2dOptions): Conv2dParams {
  return { ...conv2dParams(x, w, opts), precision: "f16" };
}

const size = (p: Conv2dParams) => ({
  x: p.n * p.c * p.h * p.w,
  w: p.o * (p.c / p.groups) * p.kh * p.kw,
  gy: p.n * p.o * p.oh * p.ow,
});

/** All three passes on dyadic operands, whose sums need more than half's 11 bits. */
function dyadicCase(name: string, x: number[], w: number[], opts: Conv2dOptions, splits = false) {
  const p = convParams(x, w, opts);
  const n = size(p);
  const runs: ConvCase["runs"] = [
    ["conv2d", "result", dyadic(n.x, 1), dyadic(n.w, 2)],
    ["conv2dGradInput", "result", dyadic(n.gy, 3), dyadic(n.w, 4)],
    ["conv2dGradWeight", "result", dyadic(n.x, 5), dyadic(n.gy, 6)],
  ];
  return { name, p, runs, splits };
}

/**
 * A case's weight gradient alone: 1024 pixels split over workgroups on either tile class, where
 * forward and grad input would compile the 16 x 16 software tiles (seconds on llvmpipe) for
 * passes the other cases cover.
 */
function gradWeightOnly(c: ConvCase): ConvCase {
  return { ...c, runs: c.runs.filter(([pass]) => pass === "conv2dGradWeight") };
}

/**
 * Full-mantissa values of [-8, 8], every fourth one wide-ranging: sums of two of them round
 * differently when the terms were rounded first.
 */
function mixed(n: number, seed: number): Float32Array {
  const range = wide(n, seed);
  return randomValues(n, seed + 1, -8, 8).map((v, i) => i % 4 === 3 ? range[i] : v);
}

type Hot = (channel: number, pixel: number) => boolean;

/** An [images][channels][pixels] tensor of ones where `hot(channel, image * pixels + pixel)`. */
function ones(images: number, channels: number, pixels: number, hot: Hot): Float32Array {
  const out = new Float32Array(images * channels * pixels);
  for (let n = 0; n < images; n++) {
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < pixels; k++) {
        out[(n * channels + c) * pixels + k] = hot(c, n * pixels + k) ? 1 : 0;
      }
    }
  }
  return out;
}

/** Whether a is b or b + 1 modulo m: a selector that picks two terms of each sum. */
const twoOf = (a: number, b: number, m: number) => ((a - b) % m + m) % m < 2;

/**
 * Each pass with one operand `mixed` and the other a selector of ones, so every output is the
 * sum of two values: rounding them to half before the sum differs from rounding only the sum.
 * A 1x1 convolution of 6 channels over 2 x 20 pixels (its weight is [O][C] as [1][O][C] with
 * the output channel as the "pixel"), and a 1x2 depthwise one of 24 channels (a sum of
 * two shows the operands' rounding only now and then, so the weight needs many of them).
 */
function wideCases(): ConvCase[] {
  const p = convParams([2, 6, 5, 4], [6, 6, 1, 1], {});
  const n = size(p);
  const image = (hot: Hot) => ones(2, 6, 20, hot);
  const weight = (hot: Hot) => ones(1, 6, 6, hot);
  const conv: ConvCase["runs"] = [
    ["conv2d", "operands", mixed(n.x, 1), weight((c, o) => twoOf(c, o, 6))],
    ["conv2d", "operands", image((c, q) => twoOf(c, q, 6)), mixed(n.w, 2)],
    ["conv2dGradInput", "operands", mixed(n.gy, 3), weight((c, o) => twoOf(o, c, 6))],
    ["conv2dGradInput", "operands", image((o, q) => twoOf(o, q, 6)), mixed(n.w, 4)],
    ["conv2dGradWeight", "operands", mixed(n.x, 5), image((o, q) => twoOf(q, o, 40))],
    ["conv2dGradWeight", "operands", image((c, q) => twoOf(q, c, 40)), mixed(n.gy, 6)],
  ];
  const d = convParams([2, 24, 3, 6], [24, 1, 1, 2], { groups: 24 });
  const m = size(d);
  const all = (count: number) => new Float32Array(count).fill(1);
  const depthwise: ConvCase["runs"] = [
    ["conv2d", "operands", mixed(m.x, 7), all(m.w)],
    ["conv2d", "operands", all(m.x), mixed(m.w, 8)],
    ["conv2dGradInput", "operands", mixed(m.gy, 9), all(m.w)],
    ["conv2dGradInput", "operands", all(m.gy), mixed(m.w, 10)],
    ["conv2dGradWeight", "operands", mixed(m.x, 11), ones(2, 24, 15, (c, q) => twoOf(q, c, 30))],
    ["conv2dGradWeight", "operands", ones(2, 24, 18, (c, q) => twoOf(q, c, 36)), mixed(m.gy, 12)],
  ];
  return [
    { name: "1x1 wide", p, runs: conv, splits: false },
    { name: "depthwise 1x2 wide", p: d, runs: depthwise, splits: false },
  ];
}

const CONV_CASES: ConvCase[] = [
  dyadicCase("3x3 stride 2 pad 1", [1, 3, 9, 7], [5, 3, 3, 3], { stride: 2, padding: 1 }),
  gradWeightOnly(
    dyadicCase("weight gradient split", [1, 4, 32, 32], [4, 4, 3, 3], { padding: 1 }, true),
  ),
  dyadicCase("groups 4", [2, 8, 7, 6], [12, 2, 3, 3], { groups: 4, padding: 1 }),
  dyadicCase("depthwise", [2, 6, 9, 8], [6, 1, 3, 3], { groups: 6, padding: 1, stride: 2 }),
  dyadicCase("depthwise split", [1, 4, 12, 12], [4, 1, 3, 3], { groups: 4, padding: 1 }, true),
  ...wideCases(),
];

async function convRun(
  backend: Backend,
  pass: Pass,
  a: Float32Array,
  b: Float32Array,
  p: Conv2dParams,
) {
  const [sa, sb] = [backend.upload(a), backend.upload(b)];
  const out = backend[pass](sa, sb, p);
  const data = await backend.read(out) as Float32Array;
  for (const s of [sa, sb, out]) backend.free(s);
  return data;
}

const differs = (x: Float32Array, y: Float32Array) =>
  bitsOf(x).some((bits, i) => bits !== bitsOf(y)[i]);

Deno.test("f16 conv: forward, grad input and grad weight on WebGPU match the CPU twin bit for bit", async () => {
  const expected = new Map<ConvCase["runs"][number], Float32Array>();
  for (const c of CONV_CASES) {
    for (const run of c.runs) {
      const [pass, kind, a, b] = run;
      const half = await convRun(cpu, pass, a, b, c.p);
      // The case must be able to fail: the result needs rounding, or its operands do.
      const full = await convRun(cpu, pass, a, b, { ...c.p, precision: "f32" });
      if (kind === "operands") roundToHalf(full);
      const label = `${c.name} ${pass} run ${c.runs.indexOf(run)}`;
      assertEqual(differs(half, full), true, `${label}: ${kind} operands can fail`);
      expected.set(run, half);
    }
  }
  // Both tile classes; on a hardware adapter they are the same backend.
  const gpus = new Set([await gpuOrNull(), await gpuHardwareTilesOrNull()]);
  for (const gpu of gpus as Set<WebGpuBackend | null>) {
    if (!gpu) continue;
    const halfTiles = await enableHalfTiles(gpu.rt);
    if (halfTiles !== null) console.warn(`f16 staged conv tiles not tested: ${halfTiles}`);
    try {
      for (const halfShared of halfTiles === null ? [false, true] : [false]) {
        gpu.rt.halfShared = halfShared;
        for (const c of CONV_CASES) {
          for (const run of c.runs) {
            const [pass, kind, a, b] = run;
            const before = gpu.rt.dispatchCount;
            const got = await convRun(gpu, pass, a, b, c.p);
            const label =
              `${c.name} ${pass} ${kind} [${gpu.rt.adapter.tiles} tiles, half ${halfShared}]`;
            assertEqual(Array.from(bitsOf(got)), Array.from(bitsOf(expected.get(run)!)), label);
            if (pass === "conv2dGradWeight") {
              assertEqual(gpu.rt.dispatchCount - before, c.splits ? 2 : 1, `${label} dispatches`);
            }
          }
        }
      }
    } finally {
      gpu.rt.halfShared = false;
    }
  }
});
