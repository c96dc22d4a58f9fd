/**
 * Times the convolution kernels on issue 2's workload W2 (conv2d N16 C64 56x56, 64 filters 3x3,
 * padding 1) on the WebGPU backend: median of 5 runs after 2 warm-ups, each run ending in a
 * readback so the GPU work is really done. FLOPs per pass = 2 * N * O * OH * OW * C/groups * KH * KW.
 *
 *   deno run -A bench/conv_probe.ts [--n 16] [--c 64] [--size 56] [--o 64] [--k 3] [--groups 1]
 *
 * On a software adapter other processes share the cores, so beside wall time the probe reports
 * the CPU time of the adapter's worker threads (Linux /proc; every thread but the main one),
 * spread over the machine's cores: what the same run takes on an otherwise idle machine.
 */

import { parseArgs } from "node:util";
import type { Backend, Storage } from "../gpu/backend.ts";
import { webgpuBackend } from "../gpu/select.ts";
import { conv2dParams } from "../nn/ops/conv.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    n: { type: "string", default: "16" },
    c: { type: "string", default: "64" },
    size: { type: "string", default: "56" },
    o: { type: "string", default: "64" },
    k: { type: "string", default: "3" },
    groups: { type: "string", default: "1" },
  },
});
const [n, c, size, o, k, groups] = [
  values.n,
  values.c,
  values.size,
  values.o,
  values.k,
  values.groups,
]
  .map(Number);
const p = conv2dParams([n, c, size, size], [o, c / groups, k, k], {
  padding: Math.floor(k / 2),
  groups,
});
const flops = 2 * p.n * p.o * p.oh * p.ow * (p.c / p.groups) * p.kh * p.kw;

function values01(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** CPU milliseconds of every thread but the main one, or NaN where /proc is unavailable. */
function workerCpuMs(): number {
  try {
    let ticks = 0;
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      if (Number(entry.name) === Deno.pid) continue;
      const stat = Deno.readTextFileSync(`/proc/self/task/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10;
  } catch {
    return NaN;
  }
}

const cores = navigator.hardwareConcurrency;

async function median(backend: Backend, pass: () => Storage[]) {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let run = 0; run < 7; run++) {
    const start = performance.now();
    const cpuStart = workerCpuMs();
    const outs = pass();
    await backend.readMany(outs);
    const ms = performance.now() - start;
    const cpuMs = workerCpuMs() - cpuStart;
    for (const s of outs) backend.free(s);
    if (run >= 2) {
      wall.push(ms);
      cpu.push(cpuMs / cores);
    }
  }
  const mid = (list: number[]) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)];
  return { wall: mid(wall), idle: mid(cpu) };
}

const gpu = await webgpuBackend();
const x = gpu.upload(values01(p.n * p.c * p.h * p.w, 1));
const w = gpu.upload(values01(p.o * (p.c / p.groups) * p.kh * p.kw, 2));
const gy = gpu.upload(values01(p.n * p.o * p.oh * p.ow, 3));

const forwardMs = await median(gpu, () => [gpu.conv2d(x, w, p)]);
const gradInputMs = await median(gpu, () => [gpu.conv2dGradInput(gy, w, p)]);
const gradWeightMs = await median(gpu, () => [gpu.conv2dGradWeight(x, gy, p)]);
const backwardMs = await median(gpu, () => [
  gpu.conv2dGradInput(gy, w, p),
  gpu.conv2dGradWeight(x, gy, p),
]);

const rate = (passes: number, ms: number) => (passes * flops / ms / 1e6).toFixed(2);
const line = (label: string, passes: number, t: { wall: number; idle: number }) =>
  console.log(
    `${label.padEnd(12)} ${t.wall.toFixed(1).padStart(8)} ms ${rate(passes, t.wall).padStart(7)} ` +
      `GFLOP/s wall | ${t.idle.toFixed(1).padStart(8)} ms ${rate(passes, t.idle).padStart(7)} ` +
      `GFLOP/s from worker CPU time / ${cores} cores`,
  );
console.log(`device: ${gpu.description}`);
console.log(`load average: ${Deno.loadavg().map((v) => v.toFixed(2)).join(" ")}`);
console.log(
  `conv2d N${p.n} C${p.c} ${p.h}x${p.w} O${p.o} ${p.kh}x${p.kw} groups ${p.groups}: ` +
    `${(flops / 1e9).toFixed(2)} GFLOP per pass`,
);
line("forward", 1, forwardMs);
line("grad input", 1, gradInputMs);
line("grad weight", 1, gradWeightMs);
line("backward", 2, backwardMs);
