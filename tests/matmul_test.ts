import type { MatmulParams } from "../gpu/backend.ts";
import type { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { matmulWith, TILES } from "../gpu/webgpu/matmul.ts";
import type { TileConfig } from "../gpu/webgpu/matmul-codegen.ts";
import type { GpuStorage } from "../gpu/webgpu/runtime.ts";
import { backward } from "../nn/autograd.ts";
import { gemm, linear, matmul } from "../nn/ops/matmul.ts";
import { sum } from "../nn/ops/reduce.ts";
import { tensor } from "../nn/tensor.ts";
import type { Tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, comparedBackends, cpu, gpuOrNull } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec, randomValues } from "./support/gradcheck.ts";

/** Plain float64 triple loop over explicit strides: an oracle independent of the twin. */
function naive(a: Float32Array, b: Float32Array, p: MatmulParams): Float64Array {
  const out = new Float64Array(p.batch * p.m * p.n);
  for (let bi = 0; bi < p.batch; bi++) {
    for (let i = 0; i < p.m; i++) {
      for (let j = 0; j < p.n; j++) {
        let s = 0;
        for (let k = 0; k < p.k; k++) {
          const ai = bi * p.aBatchStride + (p.transA ? k * p.m + i : i * p.k + k);
          const bj = bi * p.bBatchStride + (p.transB ? j * p.k + k : k * p.n + j);
          s += a[ai] * b[bj];
        }
        out[(bi * p.m + i) * p.n + j] = s;
      }
    }
  }
  return out;
}

function params(
  batch: number,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  broadcast: "none" | "a" | "b" = "none",
): MatmulParams {
  return {
    batch,
    m,
    n,
    k,
    transA,
    transB,
    aBatchStride: broadcast === "a" ? 0 : m * k,
    bBatchStride: broadcast === "b" ? 0 : k * n,
  };
}

function operands(p: MatmulParams, seed: number): [Float32Array, Float32Array] {
  const aLen = (p.aBatchStride ? p.batch : 1) * p.m * p.k;
  const bLen = (p.bBatchStride ? p.batch : 1) * p.k * p.n;
  return [randomValues(aLen, seed), randomValues(bLen, seed + 1)];
}

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 5],
  [17, 3, 65],
  [65, 1, 17],
  [4, 8, 12],
  [8, 36, 20],
];

Deno.test("CPU twin matches a float64 triple loop: transposes, batches, broadcast", async () => {
  for (const [m, n, k] of SIZES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const broadcast of ["none", "a", "b"] as const) {
          const p = params(2, m, n, k, transA, transB, broadcast);
          const [a, b] = operands(p, m + 3 * n + 7 * k);
          const out = await cpu.read(cpu.matmul(cpu.upload(a), cpu.upload(b), p));
          assertClose(out, naive(a, b, p), `cpu ${JSON.stringify(p)}`, { rtol: 1e-5, atol: 1e-6 });
        }
      }
    }
  }
});

Deno.test("WebGPU tile shapes agree with the CPU twin on edges, odd sizes and transposes", async () => {
  const gpu = (await gpuOrNull()) as WebGpuBackend | null;
  if (!gpu) return;
  const stagedA: TileConfig = { ...TILES.softwareSmall, stageA: true, kb: 8 };
  // [tiles, m, n, k, transA, transB]: every tile shape meets every transpose pair once, and
  // sizes that are and are not multiples of 4 (vec4 and scalar loads, a K tail or none).
  const cases: [string, TileConfig, number, number, number, boolean, boolean][] = [
    ["tiny", TILES.softwareTiny, 1, 1, 1, false, false],
    ["tiny", TILES.softwareTiny, 3, 17, 5, true, false],
    ["tiny", TILES.softwareTiny, 17, 65, 130, false, true],
    ["tiny", TILES.softwareTiny, 8, 36, 20, true, true],
    ["small", TILES.softwareSmall, 65, 130, 17, false, false],
    ["small", TILES.softwareSmall, 16, 64, 12, true, false],
    ["small", TILES.softwareSmall, 1, 3, 17, false, true],
    ["small", TILES.softwareSmall, 20, 40, 8, true, true],
    ["hardware", TILES.hardware, 3, 17, 5, false, false],
    ["hardware", TILES.hardware, 64, 68, 36, true, false],
    ["hardware", TILES.hardware, 65, 130, 17, false, true],
    ["hardware", TILES.hardware, 33, 20, 40, true, true],
    ["hardware large", TILES.hardwareLarge, 132, 260, 68, false, false],
    ["hardware large", TILES.hardwareLarge, 129, 131, 37, true, true],
    ["hardware large", TILES.hardwareLarge, 140, 136, 20, true, false],
    ["hardware large", TILES.hardwareLarge, 3, 130, 9, false, true],
    ["staged A", stagedA, 17, 65, 130, true, false],
    ["staged A", stagedA, 12, 40, 36, false, true],
  ];
  for (const [name, tiles, m, n, k, transA, transB] of cases) {
    const p = params(2, m, n, k, transA, transB, (m + n) % 2 === 0 ? "a" : "b");
    const [a, b] = operands(p, m * 7 + n);
    const expected = await cpu.read(cpu.matmul(cpu.upload(a), cpu.upload(b), p));
    const c = matmulWith(
      gpu.rt,
      gpu.upload(a) as GpuStorage,
      gpu.upload(b) as GpuStorage,
      p,
      tiles,
    );
    assertClose(await gpu.read(c), expected, `${name} ${JSON.stringify(p)}`, {
      rtol: 1e-4,
      atol: 1e-4,
    });
  }
});

Deno.test("the large lavapipe tile handles partial tiles, a transpose and broadcast", async () => {
  const gpu = (await gpuOrNull()) as WebGpuBackend | null;
  if (!gpu) return;
  // One variant of the tile picked for big problems: it takes seconds to compile, and the
  // other variants share its generator code with the tiles tested above (which differ only in
  // TM and TN). 132 x 260 leaves partial tiles in M and N.
  const cases: [string, TileConfig, MatmulParams][] = [
    ["large", TILES.softwareLarge, params(2, 132, 260, 68, true, false, "a")],
  ];
  for (const [name, tiles, p] of cases) {
    const [a, b] = operands(p, 5);
    const expected = await cpu.read(cpu.matmul(cpu.upload(a), cpu.upload(b), p));
    const c = matmulWith(
      gpu.rt,
      gpu.upload(a) as GpuStorage,
      gpu.upload(b) as GpuStorage,
      p,
      tiles,
    );
    assertClose(await gpu.read(c), expected, `${name} ${JSON.stringify(p)}`, {
      rtol: 1e-4,
      atol: 1e-4,
    });
  }
});

const spec = (shape: number[]): InputSpec => ({ shape });

Deno.test("matmul, gemm and linear: finite-difference gradients on the CPU", async () => {
  const cases: [string, (...x: Tensor[]) => Tensor, InputSpec[]][] = [
    ["2-D", (a, b) => matmul(a, b), [spec([3, 5]), spec([5, 4])]],
    ["batched", (a, b) => matmul(a, b), [spec([2, 3, 4]), spec([2, 4, 3])]],
    ["b broadcast", (a, b) => matmul(a, b), [spec([2, 3, 4]), spec([4, 3])]],
    ["a broadcast", (a, b) => matmul(a, b), [spec([3, 4]), spec([2, 4, 3])]],
    ["batch of 1 broadcast", (a, b) => matmul(a, b), [spec([1, 3, 4]), spec([2, 4, 2])]],
    ["transA", (a, b) => gemm(a, b, { transA: true }), [spec([4, 3]), spec([4, 5])]],
    ["transB", (a, b) => gemm(a, b, { transB: true }), [spec([2, 3, 4]), spec([5, 4])]],
    [
      "both transposed, batched",
      (a, b) => gemm(a, b, { transA: true, transB: true }),
      [spec([2, 4, 3]), spec([2, 5, 4])],
    ],
    ["linear with bias", (x, w, b) => linear(x, w, b), [spec([2, 3, 5]), spec([4, 5]), spec([4])]],
    ["linear without bias", (x, w) => linear(x, w, null), [spec([3, 5]), spec([2, 5])]],
  ];
  for (const [label, fn, specs] of cases) await gradCheck(label, cpu, fn, specs);
});

Deno.test("matmul and linear: reference vs WASM (default and split) and WebGPU outputs and gradients on awkward shapes", async () => {
  const fast = await comparedBackends();
  const cases: [string, (...x: Tensor[]) => Tensor, InputSpec[]][] = [
    ["1x1x1", (a, b) => matmul(a, b), [spec([1, 1]), spec([1, 1])]],
    ["3x17 @ 17x5", (a, b) => matmul(a, b), [spec([3, 17]), spec([17, 5])]],
    ["65x130 @ 130x1", (a, b) => matmul(a, b), [spec([65, 130]), spec([130, 1])]],
    ["17x3 @ 3x65", (a, b) => matmul(a, b), [spec([17, 3]), spec([3, 65])]],
    ["batch 1", (a, b) => matmul(a, b), [spec([1, 17, 65]), spec([1, 65, 3])]],
    ["batch 3 @ shared", (a, b) => matmul(a, b), [spec([3, 17, 12]), spec([12, 65])]],
    ["shared @ batch 3", (a, b) => matmul(a, b), [spec([17, 12]), spec([3, 12, 5])]],
    ["vec4-aligned batch", (a, b) => matmul(a, b), [spec([2, 16, 36]), spec([2, 36, 64])]],
    ["transA 65", (a, b) => gemm(a, b, { transA: true }), [spec([17, 65]), spec([17, 3])]],
    ["transB aligned", (a, b) => gemm(a, b, { transB: true }), [spec([8, 20]), spec([36, 20])]],
    ["linear", (x, w, b) => linear(x, w, b), [spec([5, 130]), spec([17, 130]), spec([17])]],
  ];
  for (const [label, fn, specs] of cases) {
    await compareBackends(label, cpu, fast, fn, specs, { rtol: 1e-4, atol: 1e-4 });
  }
});

Deno.test("matmul: shapes are checked with clear errors; empty products are zero", async () => {
  const a = tensor(new Float32Array(6), [2, 3]);
  assertThrows(() => matmul(a, tensor(new Float32Array(8), [4, 2])), /inner dimensions/, "inner");
  assertThrows(
    () => matmul(tensor(new Float32Array(12), [2, 2, 3]), tensor(new Float32Array(18), [3, 3, 2])),
    /batch sizes 2 and 3/,
    "batch",
  );
  assertThrows(
    () => linear(a, tensor(new Float32Array(8), [2, 4]), null),
    /does not end/,
    "linear",
  );
  for (const backend of await allBackends()) {
    const x = tensor(new Float32Array(0), [2, 0], { backend, requiresGrad: true });
    const y = tensor(new Float32Array(0), [0, 3], { backend, requiresGrad: true });
    const z = matmul(x, y);
    assertEqual([...z.shape], [2, 3], `empty K shape on ${backend.name}`);
    assertEqual([...await z.data()], [0, 0, 0, 0, 0, 0], `empty K values on ${backend.name}`);
    backward(sum(z));
    assertEqual([...x.grad!.shape], [2, 0], `empty K grad on ${backend.name}`);
  }
});
