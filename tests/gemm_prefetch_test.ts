/**
 * Register prefetch in the WebGPU GEMM kernels (matmul-codegen.ts's PRELOAD, conv.wgsl's LAG):
 * a tile that loads its next k slice while it multiplies the current one must give the same bits
 * as the same tile without prefetch (the sums run in the same order), and agree with the CPU
 * twin. The shapes put the prefetch at its edges: K shorter than one slice, K ending inside a
 * slice, per-invocation slots past the tile's last quad, several B passes, a weight gradient
 * whose pixel sum is split over workgroups (the last split ending mid-slice), and f16 staged
 * tiles where the adapter's self-test passes.
 */

import type { Backend, Conv2dParams, MatmulParams } from "../gpu/backend.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { createGpuRuntime } from "../gpu/webgpu/device.ts";
import { enableHalfTiles } from "../gpu/webgpu/half-tiles.ts";
import { matmulWith, TILES } from "../gpu/webgpu/matmul.ts";
import type { TileConfig } from "../gpu/webgpu/matmul-codegen.ts";
import type { GpuRuntime } from "../gpu/webgpu/runtime.ts";
import type { ConvShape } from "../gpu/webgpu/tuned-tiles.ts";
import { type Conv2dOptions, conv2dParams } from "../gpu/window-params.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { cpu, gpuOrNull } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";

const TOL = { rtol: 1e-4, atol: 1e-4 };

const bitsOf = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

/** A runtime with hardware tiles of its own, so the tests may set its tuned tiles. */
async function hardwareRuntime(): Promise<GpuRuntime | null> {
  if (!(await gpuOrNull())) return null;
  return await createGpuRuntime("high-performance", { tiles: "hardware", tuned: null });
}

const without = <T extends { prefetch?: boolean }>(t: T): T => ({ ...t, prefetch: false });
const withIt = <T extends { prefetch?: boolean }>(t: T): T => ({ ...t, prefetch: true });

/** 8 x 4 invocations, 4 x 8 each, k 4: A's 16 quads fill half of slot 0, B's 64 two slots. */
const SLOTS_PAST_TILE: TileConfig = {
  wgx: 8,
  wgy: 4,
  tm: 4,
  tn: 8,
  stageA: true,
  stageB: true,
  kb: 4,
};

const MATMUL_CASES: [string, TileConfig, number, number, number, boolean, boolean][] = [
  ["hardware, K within one slice", TILES.hardware, 3, 17, 5, false, false],
  ["hardware, K ends mid-slice", TILES.hardware, 65, 130, 41, false, true],
  ["hardware, transposed A", TILES.hardware, 64, 68, 36, true, false],
  ["hardware large", TILES.hardwareLarge, 132, 260, 68, false, false],
  ["hardware large, both transposed", TILES.hardwareLarge, 129, 131, 37, true, true],
  ["slots past the tile", SLOTS_PAST_TILE, 33, 20, 40, true, true],
  ["slots past the tile, scalar loads", SLOTS_PAST_TILE, 17, 65, 13, false, false],
  ["only A staged", { ...SLOTS_PAST_TILE, stageB: false, kb: 8 }, 20, 40, 30, true, false],
];

function mmParams(m: number, n: number, k: number, transA: boolean, transB: boolean) {
  // B is broadcast over the batch, which puts a nonzero A batch offset under the prefetch.
  return { batch: 2, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: 0 };
}

async function product(
  rt: GpuRuntime,
  a: Float32Array,
  b: Float32Array,
  p: MatmulParams,
  t: TileConfig,
) {
  const out = matmulWith(rt, rt.upload(a), rt.upload(b), p, t);
  return (await rt.readMany([out]))[0] as Float32Array;
}

Deno.test("matmul prefetch: bit for bit the tile without it, and the CPU twin's values", async () => {
  const rt = await hardwareRuntime();
  if (!rt) return;
  for (const [name, tile, m, n, k, transA, transB] of MATMUL_CASES) {
    const p = mmParams(m, n, k, transA, transB);
    const a = randomValues(2 * m * k, m + 3 * k);
    const b = randomValues(k * n, n + k);
    const expected = await cpu.read(cpu.matmul(cpu.upload(a), cpu.upload(b), p));
    const plain = await product(rt, a, b, p, without(tile));
    const prefetched = await product(rt, a, b, p, withIt(tile));
    const label = `${name} ${JSON.stringify(p)}`;
    assertClose(prefetched, expected, label, TOL);
    assertEqual(bitsOf(prefetched), bitsOf(plain), `${label}: same bits as without prefetch`);
  }
});

Deno.test("matmul prefetch: f16 operands, with f16 staged tiles where they pass their self-test", async () => {
  const rt = await hardwareRuntime();
  if (!rt) return;
  const halfTiles = await enableHalfTiles(rt);
  if (halfTiles !== null) console.warn(`f16 staged tiles not tested: ${halfTiles}`);
  for (const halfShared of halfTiles === null ? [false, true] : [false]) {
    rt.halfShared = halfShared;
    for (const [name, tile, m, n, k, transA, transB] of MATMUL_CASES.slice(1, 4)) {
      const p: MatmulParams = { ...mmParams(m, n, k, transA, transB), precision: "f16" };
      const a = randomValues(2 * m * k, k);
      const b = randomValues(k * n, n);
      const expected = await cpu.read(cpu.matmul(cpu.upload(a), cpu.upload(b), p));
      const prefetched = await product(rt, a, b, p, withIt(tile));
      const label = `${name} f16, half tiles ${halfShared}`;
      assertClose(prefetched, expected, label, { rtol: 2e-3, atol: 2e-3 });
      assertEqual(bitsOf(prefetched), bitsOf(await product(rt, a, b, p, without(tile))), label);
    }
  }
});

type Pass = "conv2d" | "conv2dGradInput" | "conv2dGradWeight";
const PASSES: Pass[] = ["conv2d", "conv2dGradInput", "conv2dGradWeight"];

/** Each pass's two operands: (x, w), (gy, w), (x, gy). */
function convOperands(p: Conv2dParams, pass: Pass, seed: number): [Float32Array, Float32Array] {
  const x = () => randomValues(p.n * p.c * p.h * p.w, seed);
  const w = () => randomValues(p.o * (p.c / p.groups) * p.kh * p.kw, seed + 1);
  const gy = () => randomValues(p.n * p.o * p.oh * p.ow, seed + 2);
  if (pass === "conv2d") return [x(), w()];
  return pass === "conv2dGradInput" ? [gy(), w()] : [x(), gy()];
}

async function convRun(b: Backend, pass: Pass, ops: [Float32Array, Float32Array], p: Conv2dParams) {
  return await b.read(b[pass](b.upload(ops[0]), b.upload(ops[1]), p)) as Float32Array;
}

const SPLIT_CASE = "split weight gradient";

const CONV_CASES: [string, number[], number[], Conv2dOptions][] = [
  ["3x3 stride 2", [2, 12, 11, 13], [40, 12, 3, 3], { stride: 2, padding: 1 }],
  ["groups 4", [2, 32, 9, 7], [32, 8, 3, 3], { groups: 4, padding: 1 }],
  // 2 x 1 pixels: the weight gradient's pixel sum is shorter than one k slice
  ["tiny image, 1x1", [1, 24, 2, 1], [72, 24, 1, 1], {}],
  ["dilated, many channels", [1, 8, 20, 20], [72, 8, 3, 3], { padding: 2, dilation: 2 }],
  // 1,058 pixels: the weight gradient splits them 4 ways, 272 + 272 + 272 + 242
  [SPLIT_CASE, [2, 4, 23, 23], [8, 4, 3, 3], { padding: 1 }],
];

/**
 * Shapes for every convolution class: 4 x 8 makes two B passes, k 8 leaves B quads unowned (8 x 8,
 * the big class's, runs with prefetch in every hardware-tile test of the trunks and fixtures).
 */
const CONV_SHAPES: ConvShape[] = [
  { tm: 4, tn: 4, tk: 16 },
  { tm: 4, tn: 8, tk: 16 },
  { tm: 8, tn: 4, tk: 8 },
];

Deno.test("conv prefetch: forward, grad input and split grad weight, bit for bit without it", async () => {
  const rt = await hardwareRuntime();
  if (!rt) return;
  const gpu = new WebGpuBackend(rt);
  const useShape = (s: ConvShape) => {
    rt.adapter.tuned = {
      adapter: "test",
      measured: "",
      matmul: {},
      conv: { big: s, narrow: s, default: s },
    };
  };
  for (const [name, xShape, wShape, options] of CONV_CASES) {
    const p = conv2dParams(xShape, wShape, options);
    for (const pass of PASSES) {
      const ops = convOperands(p, pass, xShape[1] + wShape[0]);
      const expected = await convRun(cpu, pass, ops, p);
      for (const shape of CONV_SHAPES) {
        useShape(without(shape));
        const plain = await convRun(gpu, pass, ops, p);
        useShape(withIt(shape));
        const before = rt.dispatchCount;
        const prefetched = await convRun(gpu, pass, ops, p);
        const label = `${name} ${pass} ${JSON.stringify(shape)}`;
        if (pass === "conv2dGradWeight" && name === SPLIT_CASE) {
          assertEqual(rt.dispatchCount - before, 2, `${label}: split, then summed`);
        }
        assertClose(prefetched, expected, label, TOL);
        assertEqual(bitsOf(prefetched), bitsOf(plain), `${label}: same bits as without prefetch`);
      }
    }
  }
  rt.adapter.tuned = null;
});
