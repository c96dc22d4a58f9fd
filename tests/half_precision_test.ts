/**
 * The f16 operand precision of the GEMM family (gpu/types.ts GemmPrecision): the host definition
 * against IEEE half rounding, and every WebGPU matmul tile shape, with f32 and with f16 staged
 * tiles, bit for bit against the CPU twin. Operands are chosen so that every sum is exact in f32
 * (multiples of 1/16 up to 4) or a product with the identity, so any summation order gives the
 * same bits and a missing rounding of either operand or of the result shows as a mismatch.
 */

import type { Backend, MatmulParams } from "../gpu/backend.ts";
import { roundToHalf } from "../gpu/half-operands.ts";
import type { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { enableHalfTiles } from "../gpu/webgpu/half-tiles.ts";
import { matmulWith, TILES } from "../gpu/webgpu/matmul.ts";
import type { TileConfig } from "../gpu/webgpu/matmul-codegen.ts";
import type { GpuStorage } from "../gpu/webgpu/runtime.ts";
import { assertEqual } from "./support/assert.ts";
import { cpu, gpuOrNull, wasmBackend } from "./support/backends.ts";
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
    ["dyadic", dyadic(2 * m * k, m + k), dyadic(2 * k * n, n + 3 * k)],
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
