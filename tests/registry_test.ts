/**
 * Table-driven over the kernel registry: every registered op has a case (tests/support/
 * op-cases.ts) that reaches it, passes a finite-difference gradient check, and gives the
 * reference's outputs and gradients on WASM (default and force-split) and WebGPU. Also: every
 * backend carries every op, and an op without a WGSL kernel runs through the WebGPU backend's
 * ordered host round trip.
 */

import type { Backend } from "../gpu/backend.ts";
import { f32, wrap } from "../gpu/cpu/storage.ts";
import { kernel } from "../gpu/kernel.ts";
import { OP_NAMES, REGISTRY } from "../gpu/registry.ts";
import type { HostStorage, Storage } from "../gpu/types.ts";
import { runOnHost } from "../gpu/webgpu/host-fallback.ts";
import type { GpuStorage } from "../gpu/webgpu/runtime.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { sum } from "../nn/ops/reduce.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends, comparedBackends, cpu, gpuOrNull } from "./support/backends.ts";
import { compareBackends, gradCheck, randomValues } from "./support/gradcheck.ts";
import { OP_CASES } from "./support/op-cases.ts";

/** The reference backend with a count of the kernel calls made through it. */
function counting(b: Backend): { backend: Backend; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const ops = new Set<string>(OP_NAMES);
  const backend = new Proxy(b, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (typeof key === "string" && ops.has(key)) calls.set(key, (calls.get(key) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { backend, calls };
}

Deno.test("registry: every op has a case, and every backend carries every op", async () => {
  const missing = OP_NAMES.filter((name) => !(name in OP_CASES));
  assertEqual(missing, [], "registered ops without a case in tests/support/op-cases.ts");
  const stale = Object.keys(OP_CASES).filter((name) => !(name in REGISTRY));
  assertEqual(stale, [], "cases of ops that are not registered");
  for (const b of await allBackends()) {
    const absent = OP_NAMES.filter((name) => typeof b[name] !== "function");
    assertEqual(absent, [], `ops missing on ${b.name}`);
  }
});

Deno.test("registry: each op's case reaches it, checks its gradient and matches on every backend", async () => {
  const fast = await comparedBackends();
  for (const name of OP_NAMES) {
    const c = OP_CASES[name];
    const { backend, calls } = counting(cpu);
    tidy(() => {
      const inputs = c.inputs.map((s, i) =>
        tensor(s.values ?? randomValues(s.shape.reduce((a, b) => a * b, 1), 3 + i), s.shape, {
          backend,
          requiresGrad: !s.int && !s.noGrad && !("none" in c.grad),
        })
      );
      const out = c.fn(...inputs);
      if (out.requiresGrad) backward(sum(out));
    });
    if (!calls.get(name)) throw new Error(`the case of ${name} never calls it`);
    if (!("none" in c.grad)) await gradCheck(`registry ${name}`, cpu, c.fn, c.inputs, c.grad);
    await compareBackends(`registry ${name}`, cpu, fast, c.fn, c.inputs, c.compare);
  }
});

/** A made-up op without a WGSL kernel: twice its input. */
const doubled = kernel<(x: Storage) => Storage>({
  reference: (x: HostStorage) => wrap(f32(x).map((v) => 2 * v)),
  resultSizes: (x) => ({ length: x.length, dtype: x.dtype }),
});

Deno.test("WebGPU: an op without a WGSL kernel runs on the host in order, and says so once", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const rt = gpu.rt;
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (message: string) => warnings.push(message);
  try {
    const x = gpu.upload(Float32Array.from([0, 1, -2, 0.5]));
    // GPU kernel -> host step -> GPU kernel, all issued before anything is read.
    const e = gpu.unary("exp", x, 0);
    const d = runOnHost(rt, "doubled", doubled, [e]) as GpuStorage;
    const y = gpu.unary("neg", d, 0);
    const again = runOnHost(rt, "doubled", doubled, [y]) as GpuStorage;
    const [out, twice] = await gpu.readMany([y, again]);
    const expected = [0, 1, -2, 0.5].map((v) => -2 * Math.exp(v));
    assertClose(out, expected, "neg(doubled(exp(x))) through the host", { rtol: 1e-6 });
    assertClose(twice, expected.map((v) => 2 * v), "a second host step", { rtol: 1e-6 });
    assertEqual(warnings.length, 1, `one notice for doubled, got ${JSON.stringify(warnings)}`);
    // An in-place op without a kernel: its storage arguments are written back.
    const fill = kernel<(s: Storage) => void>({
      reference: (s: HostStorage) => void f32(s).fill(7),
      resultSizes: () => undefined,
    });
    runOnHost(rt, "fillSeven", fill, [x]);
    assertEqual(Array.from(await gpu.read(x)), [7, 7, 7, 7], "written back in place");
    for (const s of [x, e, d, y, again]) gpu.free(s);
  } finally {
    console.warn = warn;
  }
});
