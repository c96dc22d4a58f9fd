/**
 * Matmul throughput probe (not a test): W1 = one 1024^3 matmul on the WebGPU backend, timed with
 * its readback, median of 5 runs after 2 warm-ups. Process CPU time is printed beside wall time
 * because on a shared machine the software adapter's two threads compete with other work.
 *
 *   deno run -A bench/matmul_probe.ts                      # the tile shape the backend picks
 *   deno run -A bench/matmul_probe.ts --size 512           # another square size
 *   deno run -A bench/matmul_probe.ts --tiles '{"wgx":8,"wgy":1,"tm":16,"tn":32,
 *       "stageA":true,"stageB":false,"kb":16}'             # try a tile shape
 */

import process from "node:process";
import { parseArgs } from "node:util";
import type { MatmulParams } from "../gpu/backend.ts";
import { webgpuBackend } from "../gpu/select.ts";
import { checkConfig, type TileConfig } from "../gpu/webgpu/matmul-codegen.ts";
import { chooseTiles, matmulWith } from "../gpu/webgpu/matmul.ts";
import type { GpuStorage } from "../gpu/webgpu/runtime.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    size: { type: "string", default: "1024" },
    tiles: { type: "string" },
    runs: { type: "string", default: "5" },
    warmups: { type: "string", default: "2" },
  },
});

const size = Number(values.size);
const runs = Number(values.runs);
const warmups = Number(values.warmups);
if (!Number.isInteger(size) || size < 1) throw new Error(`--size must be a positive integer`);

const gpu = await webgpuBackend();
const p: MatmulParams = {
  batch: 1,
  m: size,
  n: size,
  k: size,
  transA: false,
  transB: false,
  aBatchStride: size * size,
  bBatchStride: size * size,
};
const tiles: TileConfig = values.tiles
  ? JSON.parse(values.tiles)
  : chooseTiles(gpu.rt.adapter.tiles === "software", p);
checkConfig(tiles);

const values01 = (seed: number) => {
  const out = new Float32Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = ((i * 2654435761 + seed) % 1000) / 1000 - 0.5;
  return out;
};
const hostA = values01(1);
const hostB = values01(7);
const a = gpu.upload(hostA) as GpuStorage;
const b = gpu.upload(hostB) as GpuStorage;

const wall: number[] = [];
const cpu: number[] = [];
let result: Float32Array | null = null;
for (let i = 0; i < warmups + runs; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const c = matmulWith(gpu.rt, a, b, p, tiles);
  result = (await gpu.read(c)) as Float32Array;
  gpu.free(c);
  const used = process.cpuUsage(c0);
  if (i >= warmups) {
    wall.push(performance.now() - t0);
    cpu.push((used.user + used.system) / 1000);
  }
}

// Spot-check a few entries so a fast but wrong kernel cannot report a number.
for (const [i, j] of [[0, 0], [size - 1, size - 1], [size >> 1, 3 % size]]) {
  let s = 0;
  for (let k = 0; k < size; k++) s += hostA[i * size + k] * hostB[k * size + j];
  const got = result![i * size + j];
  if (!(Math.abs(got - s) <= 1e-3 * (1 + Math.abs(s)))) {
    throw new Error(`matmul probe: C[${i},${j}] is ${got}, expected ${s}`);
  }
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const flops = 2 * size ** 3;
const ms = median(wall);
console.log(`adapter: ${gpu.description}`);
console.log(`tiles:   ${JSON.stringify(tiles)}`);
console.log(
  `W1 ${size}^3: median ${ms.toFixed(1)} ms -> ${(flops / ms / 1e6).toFixed(2)} GFLOP/s ` +
    `(runs ${wall.map((t) => t.toFixed(0)).join(", ")} ms)`,
);
console.log(
  `process CPU time: median ${median(cpu).toFixed(0)} ms per run ` +
    `(${(flops / median(cpu) / 1e6).toFixed(2)} GFLOP per CPU-second)`,
);
