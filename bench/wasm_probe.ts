/**
 * Probe of the WASM CPU backend's hot kernels (not a test): W1 = 1024^3 matmul, W2 = conv2d
 * N16 C64 56x56 3x3 pad 1 (forward, grad-input, grad-weight), timed on the WASM backend, on the
 * TypeScript reference (CpuBackend) and on PyTorch (/usr/bin/python3, same thread count) in the
 * same run. Each cell is the best of --reps calls; our rounds run before and after PyTorch's so
 * a busy machine penalises both alike. Prints one table with the ratios.
 *
 *   deno run -A bench/wasm_probe.ts [--reps 5] [--threads 2] [--no-reference] [--no-torch]
 */

import { parseArgs } from "node:util";
import type { Backend, Conv2dParams, MatmulParams, Storage } from "../gpu/backend.ts";
import { CpuBackend } from "../gpu/cpu/backend.ts";
import { createWasmBackend } from "../gpu/wasm/backend.ts";

interface Workload {
  id: string;
  label: string;
  flops: number;
  /** Inputs (as arrays) and the call that makes one output from their storages. */
  inputs: Float32Array[];
  run: (b: Backend, s: Storage[]) => Storage;
}

const N = 1024;
const conv: Conv2dParams = {
  n: 16,
  c: 64,
  h: 56,
  w: 56,
  o: 64,
  kh: 3,
  kw: 3,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
  oh: 56,
  ow: 56,
};
const mm: MatmulParams = {
  batch: 1,
  m: N,
  n: N,
  k: N,
  transA: false,
  transB: false,
  aBatchStride: 0,
  bBatchStride: 0,
};
const convFlops = 2 * 16 * 64 * 56 * 56 * 64 * 9;

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

const x = random(16 * 64 * 56 * 56, 1);
const w = random(64 * 64 * 9, 2);
const gy = random(16 * 64 * 56 * 56, 3);
const WORKLOADS: Workload[] = [
  {
    id: "W1",
    label: "matmul 1024^3",
    flops: 2 * N ** 3,
    inputs: [random(N * N, 4), random(N * N, 5)],
    run: (b, [a, c]) => b.matmul(a, c, mm),
  },
  {
    id: "W2 fwd",
    label: "conv 3x3 64ch 56x56 N16 forward",
    flops: convFlops,
    inputs: [x, w],
    run: (b, [xs, ws]) => b.conv2d(xs, ws, conv),
  },
  {
    id: "W2 gi",
    label: "conv grad-input",
    flops: convFlops,
    inputs: [gy, w],
    run: (b, [g, ws]) => b.conv2dGradInput(g, ws, conv),
  },
  {
    id: "W2 gw",
    label: "conv grad-weight",
    flops: convFlops,
    inputs: [x, gy],
    run: (b, [xs, g]) => b.conv2dGradWeight(xs, g, conv),
  },
];

/** Best GFLOP/s of `reps` calls, or the reason there is none. */
function time(b: Backend, wl: Workload, reps: number): number | string {
  const inputs = wl.inputs.map((v) => b.upload(v));
  let best = Infinity;
  try {
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      const out = wl.run(b, inputs);
      best = Math.min(best, performance.now() - t);
      b.free(out);
    }
  } catch (err) {
    return (err as Error).message.split("\n")[0].slice(0, 40);
  } finally {
    inputs.forEach((s) => b.free(s));
  }
  return wl.flops / best / 1e6;
}

const TORCH = `
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[1])); reps = int(sys.argv[2])
def best(fn, flops):
    fn(); t = 1e9
    for _ in range(reps):
        s = time.perf_counter(); fn(); t = min(t, time.perf_counter() - s)
    return flops / t / 1e9
a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
x, w = torch.randn(16, 64, 56, 56), torch.randn(64, 64, 3, 3)
gy = torch.randn(16, 64, 56, 56)
f = 2 * 16 * 64 * 56 * 56 * 64 * 9
G = torch.nn.grad
print(json.dumps({
  "W1": best(lambda: a @ b, 2 * 1024 ** 3),
  "W2 fwd": best(lambda: torch.nn.functional.conv2d(x, w, padding=1), f),
  "W2 gi": best(lambda: G.conv2d_input(x.shape, w, gy, padding=1), f),
  "W2 gw": best(lambda: G.conv2d_weight(x, w.shape, gy, padding=1), f),
  "version": torch.__version__}))
`;

async function torch(threads: number, reps: number): Promise<Record<string, number | string>> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", TORCH, String(threads), String(reps)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      return { error: new TextDecoder().decode(out.stderr).trim().split("\n").at(-1)! };
    }
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const fmt = (v: number | string | undefined) =>
  typeof v === "number" ? v.toFixed(1) : v === undefined ? "-" : "n/a";
const ratio = (a: number | string | undefined, b: number | string | undefined) =>
  typeof a === "number" && typeof b === "number" ? `${(a / b).toFixed(2)}x` : "-";

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string", default: "5" },
      threads: { type: "string", default: String(navigator.hardwareConcurrency || 1) },
      "no-reference": { type: "boolean", default: false },
      "no-torch": { type: "boolean", default: false },
    },
  });
  const reps = Number(values.reps);
  const threads = Number(values.threads);
  const wasm = await createWasmBackend(threads);
  const cpu = new CpuBackend();
  console.log(`${wasm.description}; load average before: ${Deno.loadavg().join(" ")}`);
  const ours = new Map<string, number | string>();
  const keep = (id: string, v: number | string) => {
    const old = ours.get(id);
    ours.set(id, typeof old === "number" && typeof v === "number" ? Math.max(old, v) : v);
  };
  for (const wl of WORKLOADS) keep(wl.id, time(wasm, wl, reps));
  const peer = values["no-torch"] ? {} : await torch(threads, reps);
  for (const wl of WORKLOADS) keep(wl.id, time(wasm, wl, reps));
  const reference = new Map<string, number | string>();
  if (!values["no-reference"]) {
    for (const wl of WORKLOADS) reference.set(wl.id, time(cpu, wl, 1));
  }
  console.log(`load average after: ${Deno.loadavg().join(" ")}; torch ${peer.version ?? "-"}`);
  if (peer.error) console.log(`PyTorch failed: ${peer.error}`);
  const rows = [["workload", "wasm", "ts-reference", "torch", "wasm/torch", "wasm/reference"]];
  for (const wl of WORKLOADS) {
    const [o, r, t] = [ours.get(wl.id), reference.get(wl.id), peer[wl.id]];
    rows.push([`${wl.id} ${wl.label}`, fmt(o), fmt(r), fmt(t), ratio(o, t), ratio(o, r)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`GFLOP/s, best of ${reps}, ${threads} thread(s):`);
  for (const r of rows) {
    console.log(r.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  "));
  }
}

if (import.meta.main) await main();
