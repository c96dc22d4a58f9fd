import assert from "node:assert/strict";
import { parseOptions } from "../bench/main.ts";
import { selectWorkloads } from "../bench/specs.ts";
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
