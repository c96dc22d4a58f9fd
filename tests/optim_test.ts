import type { Backend } from "../gpu/backend.ts";
import { Adam } from "../nn/optim/adam.ts";
import type { Optimizer } from "../nn/optim/optimizer.ts";
import { SGD, type SgdOptions } from "../nn/optim/sgd.ts";
import { keep, tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, cpu } from "./support/backends.ts";

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
  for (const backend of await allBackends()) {
    for (const [i, fx] of fixture.sgd.entries()) {
      await checkRun(`SGD case ${i}`, backend, fx, sgd(fx.options));
    }
  }
});

Deno.test("Adam with bias correction and L2 weight decay matches PyTorch over 3 steps", async () => {
  for (const backend of await allBackends()) {
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
  for (const backend of await allBackends()) {
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
