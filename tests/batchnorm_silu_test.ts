/**
 * batchNormSiLU, EfficientNet's conv-bn-act as one op: the numbers of silu(batchNorm(x)) (bit
 * for bit on the reference and WASM, to rounding on WebGPU), outputs, every gradient and the
 * running statistics, in training and evaluation; one tensor fewer kept for the backward pass;
 * on WebGPU two dispatches forward and two backward, and the composed path a device with
 * WebGPU's default 8 storage bindings takes gives the same gradients.
 */

import type { Backend } from "../gpu/backend.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { batchNormSiLUBackward } from "../gpu/webgpu/batchnorm.ts";
import { backward } from "../nn/autograd.ts";
import { batchNorm, batchNormSiLU } from "../nn/ops/batchnorm.ts";
import { silu } from "../nn/ops/elementwise.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends, cpu, gpuOrNull } from "./support/backends.ts";
import { gradCheck, type InputSpec, randomValues } from "./support/gradcheck.ts";

const SHAPE = [3, 4, 5, 6];
const SIZE = 360;

type Inputs = [Tensor, Tensor, Tensor, Tensor, Tensor];

const fusedOp = (training: boolean) => (...[x, g, b, m, v]: Inputs) =>
  batchNormSiLU(x, g, b, m, v, { training });

const composed = (training: boolean) => (...[x, g, b, m, v]: Inputs) =>
  silu(batchNorm(x, g, b, m, v, { training }));

/** x, gamma, beta (with gradients), running mean and variance (without). */
function specs(seed: number, shape = SHAPE): InputSpec[] {
  const c = shape[1];
  const size = shape.reduce((a, b) => a * b, 1);
  return [
    { shape, values: randomValues(size, seed, -3, 3) },
    { shape: [c], values: randomValues(c, seed + 1, 0.5, 1.5) },
    { shape: [c], values: randomValues(c, seed + 2, -0.5, 0.5) },
    { shape: [c], noGrad: true, values: randomValues(c, seed + 3, -0.3, 0.3) },
    { shape: [c], noGrad: true, values: randomValues(c, seed + 4, 0.5, 2) },
  ];
}

function inputs(backend: Backend, seed: number): Inputs {
  return specs(seed).map((spec) =>
    tensor(spec.values!, spec.shape, { backend, requiresGrad: !spec.noGrad })
  ) as Inputs;
}

/** Output, the three gradients and the running statistics after one forward and backward. */
async function outcome(backend: Backend, fn: (...t: Inputs) => Tensor, training: boolean) {
  const t = inputs(backend, 51);
  const y = fn(...t);
  backward(y, tensor(randomValues(SIZE, 8), SHAPE, { backend }));
  const read = (x: Tensor | null | undefined) => x!.data() as Promise<Float32Array>;
  return {
    y: await read(y),
    gx: await read(t[0].grad),
    gGamma: await read(t[1].grad),
    gBeta: await read(t[2].grad),
    runningMean: training ? await read(t[3]) : new Float32Array(),
    runningVar: training ? await read(t[4]) : new Float32Array(),
  };
}

Deno.test("batchNormSiLU: finite differences in training and evaluation", async () => {
  for (const training of [true, false]) {
    await gradCheck(
      `bnSiLU ${training ? "train" : "eval"}`,
      cpu,
      fusedOp(training),
      specs(61, [2, 2, 2, 3]),
      {
        eps: 1e-3,
        atol: 3e-3,
      },
    );
  }
});

Deno.test("batchNormSiLU equals silu(batchNorm(x)): output, gradients, running statistics", async () => {
  for (const training of [true, false]) {
    for (const backend of await allBackends()) {
      const got = await outcome(backend, fusedOp(training), training);
      const want = await outcome(backend, composed(training), training);
      for (const key of Object.keys(want) as (keyof typeof want)[]) {
        const label = `${key} ${training ? "train" : "eval"} on ${backend.name}`;
        if (backend instanceof WebGpuBackend) {
          assertClose(got[key], want[key], label, { rtol: 1e-5, atol: 1e-6 });
        } else {
          assertEqual(Array.from(got[key]), Array.from(want[key]), label);
        }
      }
    }
  }
});

Deno.test("batchNormSiLU keeps one tensor fewer for backward and takes 2 + 2 WebGPU dispatches", async () => {
  for (const backend of await allBackends()) {
    const live = () => backend.memory().liveBuffers;
    const held = (fn: (...t: Inputs) => Tensor) => {
      const t = inputs(backend, 71);
      const before = live();
      const y = fn(...t);
      return { y, t, kept: live() - before };
    };
    const fused = held(fusedOp(true));
    const plain = held(composed(true));
    assertEqual(plain.kept - fused.kept, 1, `tensors kept on ${backend.name}`);
    if (!(backend instanceof WebGpuBackend)) continue;
    const rt = backend.rt;
    const t = inputs(backend, 72);
    let at = rt.dispatchCount;
    const y = fusedOp(true)(...t);
    assertEqual(rt.dispatchCount - at, 2, "forward dispatches (statistics, apply + SiLU)");
    at = rt.dispatchCount;
    backward(y, tensor(randomValues(SIZE, 9), SHAPE, { backend }));
    assertEqual(rt.dispatchCount - at, 2, "backward dispatches (sums, input gradient)");
  }
});

Deno.test("batchNormSiLU on WebGPU: the composed path for 8 storage bindings gives the same gradients", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const rt = gpu.rt;
  const s = { n: SHAPE[0], c: SHAPE[1], spatial: SHAPE[2] * SHAPE[3] };
  const [x, gamma, beta, mean, variance] = inputs(gpu, 81).map((t) => t.storage) as never[];
  const gy = gpu.upload(randomValues(SIZE, 10));
  for (const batchStats of [true, false]) {
    const run = (composed: boolean) =>
      batchNormSiLUBackward(
        rt,
        x,
        gy as never,
        mean,
        variance,
        gamma,
        beta,
        1e-5,
        s,
        batchStats,
        composed,
      );
    const direct = run(false);
    const at = rt.dispatchCount;
    const viaComposed = run(true);
    assertEqual(
      rt.dispatchCount - at,
      4,
      "composed dispatches (apply, SiLU gradient, sums, input)",
    );
    for (const key of ["gx", "gGamma", "gBeta"] as const) {
      assertClose(
        await gpu.read(viaComposed[key]),
        await gpu.read(direct[key]),
        `${key} with batchStats ${batchStats}`,
        { rtol: 1e-5, atol: 1e-6 },
      );
    }
  }
});
