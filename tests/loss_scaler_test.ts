/**
 * Dynamic loss scaling (nn/optim/loss-scaler.ts) on every backend: with finite gradients a
 * scaled step is the plain step (the scale is a power of two, so unscaling is exact), an overflow skips the
 * update (parameters and momentum untouched) and backs the scale off, finite steps grow it on
 * schedule, and under f16 GEMMs a gradient below half's range survives only with scaling.
 */

import type { Backend } from "../gpu/backend.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { gradsPerFlag } from "../gpu/webgpu/loss-scale.ts";
import { backward } from "../nn/autograd.ts";
import { autocast } from "../nn/autocast.ts";
import { scale } from "../nn/ops/elementwise.ts";
import { matmul } from "../nn/ops/matmul.ts";
import { sum } from "../nn/ops/reduce.ts";
import { Adam } from "../nn/optim/adam.ts";
import { checkLossScale, LossScaler } from "../nn/optim/loss-scaler.ts";
import type { Optimizer } from "../nn/optim/optimizer.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { keep, tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, gpuOrNull } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";

const SHAPES = [[3, 5], [7]];

function params(backend: Backend): Tensor[] {
  return SHAPES.map((s, i) => {
    const n = s.reduce((a, b) => a * b, 1);
    return keep(tensor(randomValues(n, 10 + i), s, { backend, requiresGrad: true }));
  });
}

/** Gives every parameter the gradient of seed `seed`, times `factor`. */
function setGrads(ps: Tensor[], seed: number, factor: number): void {
  ps.forEach((p, i) => {
    const g = randomValues(p.size, seed + i).map((v) => v * factor);
    p.grad?.dispose();
    p.grad = keep(tensor(g, p.shape, { backend: p.backend }));
  });
}

const optimisers: [string, (ps: Tensor[]) => Optimizer][] = [
  ["SGD", (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 })],
  ["Adam", (ps) => new Adam(ps, { lr: 0.01, weightDecay: 1e-3 })],
];

async function values(ps: Tensor[]): Promise<number[]> {
  return (await Promise.all(ps.map((p) => p.data()))).flatMap((d) => [...d]);
}

Deno.test("loss scaler: finite scaled steps equal plain steps; an overflow skips one", async () => {
  for (const backend of await allBackends()) {
    for (const [name, make] of optimisers) {
      const label = `${name} on ${backend.name}`;
      const plain = params(backend);
      const scaled = params(backend);
      const [optPlain, optScaled] = [make(plain), make(scaled)];
      const scaler = new LossScaler(backend, { initScale: 1024, growthInterval: 100 });
      for (let step = 0; step < 3; step++) {
        setGrads(plain, 20 + step, 1);
        setGrads(scaled, 20 + step, 1024);
        tidy(() => optPlain.step());
        tidy(() => scaler.step(optScaled));
        scaler.update();
      }
      // Bit for bit where both run the same kernel; WASM's scaled update runs the CPU twin and
      // its plain one the SIMD kernel, which differ in the last bit.
      const tolerance = backend.name === "wasm" ? { rtol: 1e-6, atol: 1e-7 } : { rtol: 0, atol: 0 };
      assertClose(await values(scaled), await values(plain), `${label}: scaled = plain`, tolerance);
      const before = await values(scaled);
      const momentum = optScaled.stateDict();
      setGrads(scaled, 40, 1024);
      const g = await scaled[1].grad!.data();
      g[3] = Infinity;
      scaled[1].grad!.dispose();
      scaled[1].grad = keep(tensor(g, scaled[1].shape, { backend }));
      tidy(() => scaler.step(optScaled));
      scaler.update();
      assertEqual(await values(scaled), before, `${label}: overflowed step skipped`);
      const after = optScaled.stateDict();
      for (const [i, st] of Object.entries(after.state)) {
        for (const [buf, t] of Object.entries(st.buffers)) {
          const was = await momentum.state[Number(i)].buffers[buf].data();
          assertEqual([...await t.data()], [...was], `${label}: ${buf}[${i}] untouched`);
        }
      }
      assertEqual(
        await scaler.snapshot(),
        { scale: 512, goodSteps: 0, overflows: 1 },
        `${label}: backed off`,
      );
      for (const d of [momentum, after]) {
        for (const st of Object.values(d.state)) {
          for (const t of Object.values(st.buffers)) t.dispose();
        }
      }
      for (const t of [...plain, ...scaled]) t.grad?.dispose();
      for (const t of [...plain, ...scaled]) t.dispose();
      optPlain.dispose();
      optScaled.dispose();
      scaler.dispose();
    }
  }
});

Deno.test("loss scaler: the scale grows after growthInterval finite steps, and resumes", async () => {
  for (const backend of await allBackends()) {
    const scaler = new LossScaler(backend, { initScale: 8, growthInterval: 3 });
    const seen: number[] = [];
    for (let step = 0; step < 7; step++) {
      scaler.update();
      seen.push((await scaler.snapshot()).scale);
    }
    assertEqual(seen, [8, 8, 16, 16, 16, 32, 32], `growth on ${backend.name}`);
    scaler.load({ scale: 4, goodSteps: 2, overflows: 5 });
    scaler.update();
    assertEqual(
      await scaler.snapshot(),
      { scale: 8, goodSteps: 0, overflows: 5 },
      `resumed on ${backend.name}`,
    );
    scaler.dispose();
  }
});

Deno.test("loss scaler: under f16 GEMMs a tiny gradient flushes to zero unless the loss is scaled", async () => {
  for (const backend of await allBackends()) {
    // dL/dw = x^T (1e-5 ones) = 4 x 5e-4 x 1e-5 = 2e-8: under half's smallest subnormal / 2.
    const x = tensor(new Float32Array(8).fill(5e-4), [4, 2], { backend });
    const run = (scaler: LossScaler | null) => {
      const w = keep(tensor(new Float32Array(6), [2, 3], { backend, requiresGrad: true }));
      const opt = new SGD([w], { lr: 1 });
      tidy(() => {
        const loss = autocast("f16", () => scale(sum(matmul(x, w)), 1e-5));
        backward(scaler ? scaler.scale(loss) : loss);
        if (scaler) scaler.step(opt);
        else opt.step();
      });
      return w;
    };
    const plain = run(null);
    assertEqual([...await plain.grad!.data()], new Array(6).fill(0), `flushed on ${backend.name}`);
    assertEqual([...await plain.data()], new Array(6).fill(0), `no update on ${backend.name}`);
    const scaler = new LossScaler(backend);
    const scaled = run(scaler);
    assertClose(await scaled.data(), new Array(6).fill(-2e-8), `scaled on ${backend.name}`, {
      rtol: 2e-3,
      atol: 0,
    });
    for (const t of [plain, scaled]) {
      t.grad?.dispose();
      t.dispose();
    }
    x.dispose();
    scaler.dispose();
  }
});

Deno.test("loss scaler: bad options and a collapsed scale are named", () => {
  assertThrows(
    () => new LossScaler(cpuLike(), { backoffFactor: 1 }),
    /backoff factor 1/,
    "backoff",
  );
  assertThrows(
    () => new LossScaler(cpuLike(), { growthInterval: 0.5 }),
    /growth interval/,
    "interval",
  );
  assertThrows(
    () => checkLossScale({ scale: 0.5, goodSteps: 0, overflows: 17 }, "step 3 of epoch 1"),
    /step 3 of epoch 1: the loss scale fell to 0.5 after 17 steps/,
    "collapse",
  );
  checkLossScale({ scale: 1, goodSteps: 0, overflows: 17 }, "fine");
});

function cpuLike(): Backend {
  return tensor([0], [1]).backend;
}

Deno.test("loss scaler: the overflow flag finds one bad value among many gradients, in groups of dispatches", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const perDispatch = gradsPerFlag(gpu.rt);
  // 2.5 dispatches' worth of gradients of uneven sizes; the last group is padded.
  const count = Math.ceil(perDispatch * 2.5);
  const sizes = Array.from({ length: count }, (_, j) => 1 + ((j * 37) % 300));
  const bad = [-1, 0, perDispatch - 1, perDispatch, count - 1];
  for (const where of bad) {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const grads = sizes.map((n, j) => {
        const data = randomValues(n, j + 1);
        if (j === where) data[(j * 13) % n] = value;
        return gpu.upload(data);
      });
      const state = gpu.upload(new Float32Array(3));
      const before = gpu.rt.dispatchCount;
      gpu.flagNonFinite(grads, state);
      const flagged = (await gpu.read(state))[0];
      const label = `bad value ${value} in gradient ${where} of ${count}`;
      assertEqual(flagged, where >= 0 ? 1 : 0, label);
      assertEqual(gpu.rt.dispatchCount - before, 3, `${label}: dispatches`);
      for (const g of [...grads, state]) gpu.free(g);
    }
  }
});
