import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import {
  avgPool2d,
  type AvgPool2dOptions,
  globalAvgPool2d,
  maxPool2d,
  maxPool2dWithIndices,
  type Pool2dOptions,
} from "../nn/ops/pool.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, comparedBackends, cpu } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec } from "./support/gradcheck.ts";

interface FixtureCase {
  name: string;
  op: "max" | "avg" | "global";
  shape: number[];
  kernel?: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  countIncludePad?: boolean;
  x: number[];
  gy: number[];
  y: number[];
  yShape: number[];
  gx: number[];
  indices?: number[];
}

const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/pool.json", import.meta.url)),
) as { torch: string; cases: FixtureCase[] };

/** Distinct values 0.05 apart in a scrambled order: no near-ties for finite differences. */
function spaced(shape: number[], seed: number): InputSpec {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (((i * 7919 + seed * 104729) % n) - n / 2) * 0.05;
  return { shape, values };
}

function runFixture(backend: Backend, c: FixtureCase) {
  return tidy(() => {
    const x = tensor(Float32Array.from(c.x), c.shape, { backend, requiresGrad: true });
    let y: Tensor;
    let indices: Tensor | null = null;
    if (c.op === "max") {
      const r = maxPool2dWithIndices(x, {
        kernel: c.kernel!,
        stride: c.stride,
        padding: c.padding,
      });
      y = r.y;
      indices = r.indices;
    } else if (c.op === "avg") {
      y = avgPool2d(x, {
        kernel: c.kernel!,
        stride: c.stride,
        padding: c.padding,
        countIncludePad: c.countIncludePad,
      });
    } else {
      y = globalAvgPool2d(x);
    }
    backward(y, tensor(Float32Array.from(c.gy), y.shape, { backend }));
    return { y, indices, gx: x.grad! };
  });
}

Deno.test(`pooling matches PyTorch ${fixture.torch} forward and backward on every backend`, async () => {
  for (const backend of await allBackends()) {
    for (const c of fixture.cases) {
      const label = `${c.name} [${backend.name}]`;
      const { y, indices, gx } = runFixture(backend, c);
      assertEqual([...y.shape], c.yShape, `${label} output shape`);
      assertClose(await y.data(), c.y, `${label} output`, { rtol: 1e-5, atol: 1e-6 });
      if (indices) assertEqual([...await indices.data()], c.indices, `${label} argmax`);
      assertClose(await gx.data(), c.gx, `${label} input gradient`, { rtol: 1e-5, atol: 1e-6 });
    }
  }
});

type Case = [string, number[], Pool2dOptions | AvgPool2dOptions];

const WINDOWS: Case[] = [
  ["k2 s2 p0 on 7x9", [2, 3, 7, 9], { kernel: 2 }],
  ["k3 s1 p1 on 5x6", [1, 2, 5, 6], { kernel: 3, stride: 1, padding: 1 }],
  ["k3 s2 p1 on 9x7", [2, 1, 9, 7], { kernel: 3, stride: 2, padding: 1 }],
  ["k2 s1 p1 on 4x5", [1, 2, 4, 5], { kernel: 2, stride: 1, padding: 1 }],
  ["k2x3 s1x2 p0x1 on 5x7", [1, 2, 5, 7], { kernel: [2, 3], stride: [1, 2], padding: [0, 1] }],
  ["k3 s3 on 8x8 (drops the last two rows and columns)", [1, 1, 8, 8], { kernel: 3 }],
];

Deno.test("pooling: finite-difference gradients on the CPU", async () => {
  for (const [label, shape, o] of WINDOWS) {
    await gradCheck(`maxPool2d ${label}`, cpu, (x) => maxPool2d(x, o), [spaced(shape, 1)], {
      eps: 1e-2,
    });
    for (const countIncludePad of [true, false]) {
      await gradCheck(
        `avgPool2d ${label} countIncludePad=${countIncludePad}`,
        cpu,
        (x) => avgPool2d(x, { ...o, countIncludePad }),
        [{ shape }],
      );
    }
  }
  await gradCheck("globalAvgPool2d 7x7", cpu, globalAvgPool2d, [{ shape: [2, 3, 7, 7] }]);
  await gradCheck("maxPool2d on a [C,H,W] input", cpu, (x) => maxPool2d(x, { kernel: 2 }), [
    spaced([2, 5, 4], 3),
  ]);
});

Deno.test("pooling: reference vs WASM (default and split) and WebGPU outputs and gradients", async () => {
  const fast = await comparedBackends();
  const big: Case[] = [...WINDOWS, ["k3 s2 p1 on 33x31", [2, 4, 33, 31], {
    kernel: 3,
    stride: 2,
    padding: 1,
  }]];
  for (const [label, shape, o] of big) {
    await compareBackends(`maxPool2d ${label}`, cpu, fast, (x) => maxPool2d(x, o), [{ shape }], {
      rtol: 1e-6,
      atol: 1e-7,
    });
    for (const countIncludePad of [true, false]) {
      await compareBackends(
        `avgPool2d ${label} countIncludePad=${countIncludePad}`,
        cpu,
        fast,
        (x) => avgPool2d(x, { ...o, countIncludePad }),
        [{ shape }],
        { rtol: 1e-5, atol: 1e-6 },
      );
    }
  }
  await compareBackends("globalAvgPool2d 7x7", cpu, fast, globalAvgPool2d, [{
    shape: [4, 16, 7, 7],
  }], {
    rtol: 1e-5,
    atol: 1e-6,
  });
});

Deno.test("max pool ties: the first cell of the window wins, on every backend", async () => {
  // All equal: every window's argmax is its first real cell (padding never wins).
  for (const backend of await allBackends()) {
    const x = tensor(new Float32Array(2 * 5 * 5).fill(1), [1, 2, 5, 5], {
      backend,
      requiresGrad: true,
    });
    const { y, indices } = maxPool2dWithIndices(x, { kernel: 3, stride: 2, padding: 1 });
    // Windows start at rows/cols -1, 1, 3: first real cells are 0, 1, 3.
    const firsts = [0, 1, 3];
    const expected: number[] = [];
    for (const r of firsts) for (const c of firsts) expected.push(r * 5 + c);
    assertEqual([...await indices.data()], [...expected, ...expected], `ties [${backend.name}]`);
    assertEqual([...await y.data()], new Array(18).fill(1), `tie values [${backend.name}]`);
    backward(y, tensor(new Float32Array(18).fill(1), y.shape, { backend }));
    const gx = await x.grad!.data();
    const hits = new Array(25).fill(0);
    for (const i of expected) hits[i] += 1;
    assertEqual([...gx], [...hits, ...hits], `tie gradient [${backend.name}]`);
  }
});

Deno.test("maxPool2d without a graph frees its argmax at once", async () => {
  for (const backend of await allBackends()) {
    backend.flush();
    const before = backend.memory().liveBuffers;
    const x = tensor(new Float32Array(2 * 6 * 6).fill(1), [2, 6, 6], { backend });
    const y = maxPool2d(x, { kernel: 2 });
    assertEqual([...y.shape], [2, 3, 3], `3-D input shape [${backend.name}]`);
    y.dispose();
    x.dispose();
    backend.flush();
    assertEqual(backend.memory().liveBuffers, before, `live buffers [${backend.name}]`);
  }
});

Deno.test("pooling: bad windows fail with clear errors", () => {
  const x = tensor(new Float32Array(16), [1, 1, 4, 4]);
  assertThrows(() => maxPool2d(x, { kernel: 2, padding: 2 }), /at most half the kernel/, "pad");
  assertThrows(() => avgPool2d(x, { kernel: 5 }), /too small for kernel/, "size");
  assertThrows(() => maxPool2d(x, { kernel: 0 }), /positive integers/, "kernel");
  assertThrows(
    () => maxPool2d(tensor(new Float32Array(4), [4]), { kernel: 2 }),
    /\[N, C, H, W\] or \[C, H, W\]/,
    "rank",
  );
  assertThrows(() => globalAvgPool2d(tensor(new Float32Array(4), [1, 4])), /\[N, C, H, W\]/, "gap");
});
