import assert from "node:assert/strict";
import { parseOptions } from "../bench/main.ts";
import { renderProfiles } from "../bench/gpu-profile.ts";
import { selectWorkloads, withRepeat } from "../bench/specs.ts";
import { type Column, renderTable } from "../bench/table.ts";

const ok = (seconds: number) => ({ kind: "ok" as const, seconds, runs: 3, firstS: seconds });

Deno.test("bench: both CUDA columns are ratios of the webgpu column", () => {
  const [w1] = selectWorkloads(["W1"]);
  const columns: Column[] = [
    { name: "webgpu", info: "", rows: new Map([[w1.id, ok(0.02)]]), ours: true },
    { name: "torch-cuda", info: "", rows: new Map([[w1.id, ok(0.01)]]) },
    { name: "torch-cuda-amp", info: "", rows: new Map([[w1.id, ok(0.004)]]) },
  ];
  const text = renderTable([w1], columns);
  const header = text.split("\n")[0];
  assert(header.includes("webgpu ÷ torch-cuda |"), header);
  assert(header.includes("webgpu ÷ torch-cuda-amp"), header);
  const row = text.split("\n")[2].split("|").map((s) => s.trim());
  assert.deepEqual(row.slice(-3, -1), ["0.500×", "0.200×"]);
});

Deno.test("bench: --model asks for PyTorch on the CPU and in both CUDA precisions", () => {
  const o = parseOptions(["--model", "resnet18"]);
  assert.deepEqual(o.peers, ["torch-cpu", "torch-cuda", "torch-cuda-amp"]);
  assert.deepEqual(parseOptions(["--peers", "torch-cuda-amp"]).peers, ["torch-cuda-amp"]);
});

Deno.test("bench --profile: a row's kernels, the longest first, the rest summed", () => {
  const [w1] = selectWorkloads(["W1"]);
  const kernels = Array.from({ length: 10 }, (_, i) => ({
    kernel: `k${i}`,
    calls: 2,
    seconds: (10 - i) * 1e-3,
  }));
  const text = renderProfiles([w1], new Map([[w1.id, { wallS: 0.11, dispatches: 20, kernels }]]))!;
  assert(text.includes("wall 0.11 s, kernels 55.0 ms (50 % of wall), 20 dispatches"), text);
  assert(text.includes("| k0 | 2 | 10.0 ms | 18.2 % | 5.00 ms |"), text);
  assert(text.includes("| 2 other kernels | 4 | 3.00 ms | 5.5 % | 750 µs |"), text);
  const none = renderProfiles([w1], new Map([[w1.id, "no timestamps"]]))!;
  assert(none.includes("not profiled (no timestamps)"), none);
});

Deno.test("bench --repeat: kernel rows count every launch; training rows are unchanged", () => {
  const specs = selectWorkloads(["W1", "W3"]);
  const repeated = withRepeat(specs, 5);
  const byId = new Map(repeated.map((s) => [s.id, s]));
  const w1 = specs.find((s) => s.id === "W1")!;
  assert.equal(byId.get("W1")!.flops, 5 * w1.flops);
  assert.equal(byId.get("W1")!.repeat, 5);
  assert.match(byId.get("W1")!.label, /×5 per read-back/);
  assert.deepEqual(byId.get("W3"), specs.find((s) => s.id === "W3"));
  assert.equal(parseOptions(["--repeat", "20"]).repeat, 20);
});
