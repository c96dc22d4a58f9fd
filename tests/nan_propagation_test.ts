/**
 * NaN and infinities through ReLU, max pooling and training-mode batch norm match PyTorch
 * (tests/fixtures/nan_propagation.json, from tools/fixtures/nan_propagation.py) on every
 * backend: a NaN that enters a network has to reach the loss, where training stops on it.
 */

import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { BatchNorm2d } from "../nn/layers/batchnorm.ts";
import { batchNorm } from "../nn/ops/batchnorm.ts";
import { relu } from "../nn/ops/elementwise.ts";
import { mean } from "../nn/ops/reduce.ts";
import { maxPool2d, maxPool2dWithIndices } from "../nn/ops/pool.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends, wasmSplitBackend } from "./support/backends.ts";

type Value = number | "NaN" | "Infinity" | "-Infinity";

interface NanCase {
  name: string;
  op: "relu" | "maxpool" | "batchnorm";
  shape: number[];
  x: Value[];
  gy: Value[];
  y: Value[];
  gx: Value[];
  kernel?: [number, number];
  stride?: [number, number];
  padding?: [number, number];
  yShape?: number[];
  indices?: number[];
  gamma?: Value[];
  beta?: Value[];
  runningMean?: Value[];
  runningVar?: Value[];
  gGamma?: Value[];
  gBeta?: Value[];
}

const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/nan_propagation.json", import.meta.url)),
) as { torch: string; cases: NanCase[] };

const floats = (v: readonly Value[]) => Float32Array.from(v, Number);

async function backends(): Promise<Backend[]> {
  return [...await allBackends(), await wasmSplitBackend()];
}

async function check(backend: Backend, c: NanCase): Promise<void> {
  const label = `${c.name} [${backend.name}]`;
  const tol = { rtol: 1e-5, atol: 1e-6 };
  const x = tensor(floats(c.x), c.shape, { backend, requiresGrad: true });
  const made: Tensor[] = [x];
  try {
    if (c.op === "relu") {
      const y = tidy(() => {
        const out = relu(x);
        backward(out, tensor(floats(c.gy), out.shape, { backend }));
        return out;
      });
      made.push(y);
      assertClose(await y.data(), floats(c.y), `${label} output`, tol);
    } else if (c.op === "maxpool") {
      const { y, indices } = tidy(() => {
        const r = maxPool2dWithIndices(x, {
          kernel: c.kernel!,
          stride: c.stride,
          padding: c.padding,
        });
        backward(r.y, tensor(floats(c.gy), r.y.shape, { backend }));
        return r;
      });
      made.push(y, indices);
      assertEqual([...y.shape], c.yShape, `${label} output shape`);
      assertClose(await y.data(), floats(c.y), `${label} output`, tol);
      assertEqual([...await indices.data()], c.indices, `${label} argmax`);
    } else {
      const gamma = tensor(floats(c.gamma!), [2], { backend, requiresGrad: true });
      const beta = tensor(floats(c.beta!), [2], { backend, requiresGrad: true });
      const runningMean = tensor(new Float32Array([0, 0]), [2], { backend });
      const runningVar = tensor(new Float32Array([1, 1]), [2], { backend });
      made.push(gamma, beta, runningMean, runningVar);
      const y = tidy(() => {
        const out = batchNorm(x, gamma, beta, runningMean, runningVar, { training: true });
        backward(out, tensor(floats(c.gy), out.shape, { backend }));
        return out;
      });
      made.push(y);
      assertClose(await y.data(), floats(c.y), `${label} output`, tol);
      assertClose(await runningMean.data(), floats(c.runningMean!), `${label} running mean`, tol);
      assertClose(await runningVar.data(), floats(c.runningVar!), `${label} running var`, tol);
      assertClose(await gamma.grad!.data(), floats(c.gGamma!), `${label} weight gradient`, tol);
      assertClose(await beta.grad!.data(), floats(c.gBeta!), `${label} bias gradient`, tol);
    }
    assertClose(await x.grad!.data(), floats(c.gx), `${label} input gradient`, tol);
  } finally {
    for (const t of made) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

Deno.test(`NaN through relu / max pool / batch norm matches PyTorch ${fixture.torch} on every backend`, async () => {
  const ops = new Set(fixture.cases.map((c) => c.op));
  assertEqual([...ops].sort(), ["batchnorm", "maxpool", "relu"], "fixture covers the three ops");
  for (const backend of await backends()) {
    for (const c of fixture.cases) await check(backend, c);
  }
});

Deno.test("one NaN pixel makes the loss of batch norm -> relu -> max pool NaN on every backend", async () => {
  for (const backend of await backends()) {
    const n = 4, c = 3, h = 6, w = 6;
    const pixels = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(i));
    pixels[2 * c * h * w + 17] = NaN;
    const bn = new BatchNorm2d(c, { backend });
    const loss = tidy(() => {
      const x = tensor(pixels, [n, c, h, w], { backend });
      return mean(maxPool2d(relu(bn.forward(x)), { kernel: 2 }));
    });
    const value = await loss.item();
    loss.dispose();
    bn.dispose();
    if (!Number.isNaN(value)) {
      throw new Error(`[${backend.name}] loss is ${value}; a NaN pixel must make it NaN`);
    }
  }
});
