import type { Backend } from "../gpu/backend.ts";
import { Adam } from "../nn/optim/adam.ts";
import { type Optimizer, shardLayout } from "../nn/optim/optimizer.ts";
import { packsOf } from "../gpu/webgpu/optim.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { SGD, type SgdOptions } from "../nn/optim/sgd.ts";
import { keep, tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import {
  allBackends,
  cpu,
  gpuHardwareTilesOrNull,
  gpuOrNull,
  withHardwareTiles,
} from "./support/backends.ts";

interface OptimFixture {
  options: Record<string, unknown>;
  shapes: number[][];
  initial: number[][];
  grads: number[][][];
  after: number[][][];
  state: Record<string, number[]>[];
}
const fixture = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/norm_loss_optim.json", import.meta.url)),
) as { sgd: OptimFixture[]; adam: OptimFixture[] };

/** Our buffer names for PyTorch's state keys. */
const STATE_NAMES: Record<string, string> = {
  momentum_buffer: "momentum",
  exp_avg: "m",
  exp_avg_sq: "v",
};

function makeParams(backend: Backend, fx: OptimFixture): Tensor[] {
  return fx.shapes.map((s, i) => tensor(fx.initial[i], s, { backend, requiresGrad: true }));
}

function setGrads(params: Tensor[], grads: number[][]): void {
  params.forEach((p, i) => (p.grad = keep(tensor(grads[i], p.shape, { backend: p.backend }))));
}

async function checkRun(
  label: string,
  backend: Backend,
  fx: OptimFixture,
  make: (params: Tensor[]) => Optimizer,
): Promise<void> {
  const params = makeParams(backend, fx);
  const opt = make(params);
  for (let step = 0; step < fx.grads.length; step++) {
    opt.zeroGrad();
    setGrads(params, fx.grads[step]);
    tidy(() => opt.step());
    for (const [i, p] of params.entries()) {
      assertClose(
        await p.data(),
        fx.after[step][i],
        `${label} [${backend.name}] step ${step + 1} param ${i}`,
        {
          rtol: 1e-5,
          atol: 1e-6,
        },
      );
    }
  }
  const dict = opt.stateDict();
  for (const [i, expected] of fx.state.entries()) {
    for (const [torchName, values] of Object.entries(expected)) {
      const t = dict.state[i].buffers[STATE_NAMES[torchName]];
      if (!t || t.disposed) throw new Error(`${label}: no live ${torchName} for param ${i}`);
      assertClose(await t.data(), values, `${label} [${backend.name}] ${torchName} ${i}`, {
        rtol: 1e-5,
        atol: 1e-7,
      });
    }
    assertEqual(dict.state[i].step, 3, `${label} step count of param ${i}`);
  }
  opt.zeroGrad();
  if (params.some((p) => p.grad !== null)) throw new Error(`${label}: zeroGrad left a gradient`);
  opt.dispose();
}

const sgd = (o: Record<string, unknown>) => (p: Tensor[]) => new SGD(p, o as unknown as SgdOptions);

Deno.test("SGD (momentum, dampening, weight decay, Nesterov) matches PyTorch over 3 steps", async () => {
  for (const backend of await withHardwareTiles(await allBackends())) {
    for (const [i, fx] of fixture.sgd.entries()) {
      await checkRun(`SGD case ${i}`, backend, fx, sgd(fx.options));
    }
  }
});

Deno.test("Adam with bias correction and L2 weight decay matches PyTorch over 3 steps", async () => {
  for (const backend of await withHardwareTiles(await allBackends())) {
    for (const [i, fx] of fixture.adam.entries()) {
      const o = fx.options as {
        lr: number;
        betas: [number, number];
        eps: number;
        weightDecay: number;
      };
      await checkRun(`Adam case ${i}`, backend, fx, (p) => new Adam(p, o));
    }
  }
});

Deno.test("optimiser state dicts resume a run exactly, and state survives tidy()", async () => {
  for (const backend of await withHardwareTiles(await allBackends())) {
    const cases: [string, OptimFixture, (p: Tensor[]) => Optimizer][] = [
      ["SGD", fixture.sgd[0], sgd(fixture.sgd[0].options)],
      ["Adam", fixture.adam[0], (p) => new Adam(p, fixture.adam[0].options)],
    ];
    for (const [label, fx, make] of cases) {
      const params = makeParams(backend, fx);
      const first = make(params);
      for (let step = 0; step < 2; step++) {
        first.zeroGrad();
        setGrads(params, fx.grads[step]);
        tidy(() => first.step());
      }
      // Resume in a fresh optimiser over copies of the parameters after step 2.
      const resumed = params.map((p, i) => tensor(fx.after[1][i], p.shape, { backend }));
      const second = make(resumed);
      second.loadStateDict(first.stateDict());
      first.dispose();
      setGrads(resumed, fx.grads[2]);
      second.step();
      for (const [i, p] of resumed.entries()) {
        assertClose(
          await p.data(),
          fx.after[2][i],
          `${label} resumed [${backend.name}] param ${i}`,
          {
            rtol: 1e-5,
            atol: 1e-6,
          },
        );
      }
      second.dispose();
    }
  }
});

Deno.test("optimisers: settable lr, params without gradients, clear errors", async () => {
  const opts = { backend: cpu };
  const a = tensor([1, 2], [2], { ...opts, requiresGrad: true });
  const b = tensor([3], [1], { ...opts, requiresGrad: true });
  const opt = new SGD([a, b], { lr: 0.5, momentum: 0.9 });
  a.grad = keep(tensor([1, 1], [2], opts));
  opt.step();
  assertClose(await a.data(), [0.5, 1.5], "SGD first step");
  assertClose(await b.data(), [3], "parameter without a gradient is untouched");
  opt.lr = 0;
  opt.step();
  assertClose(await a.data(), [0.5, 1.5], "lr 0 leaves parameters alone");
  assertEqual(Object.keys(opt.stateDict().state), ["0"], "state only for stepped parameters");
  assertThrows(
    () => new SGD([a], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
    /Nesterov momentum requires/,
    "nesterov with dampening",
  );
  assertThrows(
    () => new Adam([a]).loadStateDict(opt.stateDict()),
    /"sgd" state dict into a "adam" optimiser/,
    "kind",
  );
  assertThrows(() => new SGD([a, a], { lr: 0.1 }), /same parameter twice/, "duplicate parameter");
  opt.lr = Number.NaN;
  assertThrows(() => opt.step(), /invalid learning rate NaN/, "NaN lr");
  opt.dispose();
});

Deno.test("a step updates consecutive parameters as one group; gaps, step counts and shards split it", async () => {
  // Three parameters, Adam: step 1 all have gradients, step 2 the middle one has none, step 3
  // all again, so the middle one is a step behind (its own bias correction). Each must end as
  // an Adam over that parameter alone would leave it, whether the state lies in one shard or
  // in two (a cap of 5 elements: [3, 2] and [4]); a state dict moves between the layouts.
  const shapes = [[3], [2], [2, 2]];
  const pattern = [[true, true, true], [true, false, true], [true, true, true]];
  const sizeOf = (i: number) => shapes[i].reduce((a, b) => a * b);
  const values = (seed: number, i: number) =>
    Array.from({ length: sizeOf(i) }, (_, k) => Math.sin(seed + 3 * i + k));
  for (const backend of await withHardwareTiles(await allBackends())) {
    for (const shardElements of [undefined, 5]) {
      const make = () =>
        shapes.map((s, i) => tensor(values(10, i), s, { backend, requiresGrad: true }));
      const grouped = make();
      const alone = make();
      const o = { lr: 0.1, weightDecay: 0.01 };
      const group = new Adam(grouped, { ...o, shardElements });
      const singles = alone.map((p) => new Adam([p], o));
      for (const [step, has] of pattern.entries()) {
        group.zeroGrad();
        singles.forEach((s) => s.zeroGrad());
        has.forEach((on, i) => {
          if (!on) return;
          grouped[i].grad = keep(tensor(values(step, i), shapes[i], { backend }));
          alone[i].grad = keep(tensor(values(step, i), shapes[i], { backend }));
          singles[i].step();
        });
        group.step();
      }
      const label = `[${backend.name}, shards of ${shardElements ?? "default"}]`;
      for (const i of shapes.keys()) {
        assertClose(await grouped[i].data(), await alone[i].data(), `${label} param ${i}`, {
          rtol: 1e-6,
          atol: 1e-7,
        });
      }
      const dict = group.stateDict();
      assertEqual(shapes.map((_, i) => dict.state[i].step), [3, 2, 3], `${label} steps`);
      // the other layout resumes where this one stopped
      const moved = new Adam(grouped, { ...o, shardElements: shardElements ? undefined : 5 });
      moved.loadStateDict(dict);
      for (const st of Object.values(dict.state)) {
        for (const t of Object.values(st.buffers)) t.dispose();
      }
      for (const [i, p] of grouped.entries()) {
        p.grad = keep(tensor(values(7, i), shapes[i], { backend }));
        alone[i].grad = keep(tensor(values(7, i), shapes[i], { backend }));
        singles[i].step();
      }
      moved.step();
      for (const i of shapes.keys()) {
        assertClose(await grouped[i].data(), await alone[i].data(), `${label} resumed ${i}`, {
          rtol: 1e-6,
          atol: 1e-7,
        });
      }
      for (const opt of [group, moved, ...singles]) {
        opt.zeroGrad();
        opt.dispose();
      }
    }
  }
});

Deno.test("state shards: consecutive parameters up to the cap, a larger one alone", () => {
  assertEqual(
    JSON.stringify(shardLayout([3, 2, 4, 9, 1], 5)),
    JSON.stringify({
      places: [
        { shard: 0, offset: 0 },
        { shard: 0, offset: 3 },
        { shard: 1, offset: 0 },
        { shard: 2, offset: 0 },
        { shard: 3, offset: 0 },
      ],
      shardSizes: [5, 4, 9, 1],
    }),
    "layout",
  );
  assertThrows(
    () => new SGD([tensor([1], [1])], { lr: 1, shardElements: 0 }),
    /shard size 0/,
    "cap",
  );
});

Deno.test("on a GPU an optimiser step is one dispatch per state shard; lavapipe's one per parameter", async () => {
  for (const gpu of [await gpuHardwareTilesOrNull(), await gpuOrNull()]) {
    if (!(gpu instanceof WebGpuBackend)) continue;
    const rt = gpu.rt;
    const expected = rt.adapter.tiles === "hardware" ? 1 : 40;
    const params = Array.from(
      { length: 40 },
      (_, i) =>
        tensor(Array.from({ length: 5 + i }, (_, k) => k / 7), [5 + i], {
          backend: gpu,
          requiresGrad: true,
        }),
    );
    for (const opt of [new SGD(params, { lr: 0.1, momentum: 0.9 }), new Adam(params)]) {
      params.forEach((p) => (p.grad = keep(tensor(new Float32Array(p.size).fill(1), p.shape, {
        backend: gpu,
      }))));
      opt.step(); // the first step also fills the new state buffers with zeros
      const before = rt.dispatchCount;
      opt.step();
      const label = `${opt.kind} on ${gpu.description}: dispatches for 40 parameters`;
      assertEqual(rt.dispatchCount - before, expected, label);
      await params[39].data();
      opt.zeroGrad();
      opt.dispose();
    }
  }
});

Deno.test("WebGPU packs a group's parameters in consecutive packs under the cap", () => {
  const sizes = [5, 3, 9, 2, 2, 20, 1].map((length) => ({ length }));
  assertEqual(
    JSON.stringify(packsOf(sizes, 4, 10)),
    JSON.stringify([
      { first: 0, count: 2, base: 4, length: 8 },
      { first: 2, count: 1, base: 12, length: 9 },
      { first: 3, count: 2, base: 21, length: 4 },
      { first: 5, count: 1, base: 25, length: 20 },
      { first: 6, count: 1, base: 45, length: 1 },
    ]),
    "packs",
  );
});
