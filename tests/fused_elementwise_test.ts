/**
 * Fused element-wise chains (gpu/fused-elementwise.ts): a program gives the numbers of the chain
 * of unary and binary ops it stands for, bit for bit on the reference and WASM backends and to
 * rounding on WebGPU (whose compiler may contract a multiply-add), NaN and infinities included;
 * the backward rules built on it keep their values and take one WebGPU dispatch; bad programs
 * and inputs are refused by name.
 */

import type { Backend, Storage } from "../gpu/backend.ts";
import { BINARY_OPS, UNARY_OPS } from "../gpu/elementwise-ops.ts";
import {
  buildProgram,
  checkProgram,
  type FusedProgram,
  type FusedStep,
  MAX_FUSED_INPUTS,
} from "../gpu/fused-elementwise.ts";
import type { BinaryOp, UnaryOp } from "../gpu/types.ts";
import { WasmBackend } from "../gpu/wasm/backend.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import * as ew from "../nn/ops/elementwise.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, cpu, gpuOrNull } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";

const N = 300;

/** Two inputs with a spread of values and, at fixed places, NaN, ±infinity, zeros of both signs. */
function inputsWithSpecials(): Float32Array[] {
  return [1, 2].map((seed) => {
    const v = randomValues(N, seed, -3, 3);
    v[7] = Number.NaN;
    v[19 + seed] = Number.POSITIVE_INFINITY;
    v[41 + seed] = Number.NEGATIVE_INFINITY;
    v[60] = 0;
    v[61] = -0;
    return v;
  });
}

/** The chain a program stands for, run as separate unary and binary ops on `backend`. */
function unfused(backend: Backend, program: FusedProgram, inputs: readonly Storage[]): Storage {
  const n = inputs[0].length;
  const view = { shape: [n], strides: [1], offset: 0 };
  const values: Storage[] = [];
  for (const s of program.steps) {
    if ("input" in s) values.push(inputs[s.input]);
    else if ("constant" in s) values.push(backend.fill(n, s.constant, "f32"));
    else if ("unary" in s) values.push(backend.unary(s.unary, values[s.of], s.p));
    else values.push(backend.binary(s.binary, values[s.a], view, values[s.b], view));
  }
  return values[values.length - 1];
}

function assertSameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string) {
  assertEqual(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      throw new Error(`${label}: element ${i} is ${actual[i]}, the chain gives ${expected[i]}`);
    }
  }
}

/** Buffers a backend holds, the WASM heap's own blocks included (its memory() counts results). */
function heldBuffers(backend: Backend): number {
  return backend instanceof WasmBackend
    ? backend.rt.heap.liveBuffers
    : backend.memory().liveBuffers;
}

/** Fused against unfused on every backend: exact off WebGPU, to rounding on it. */
async function compareWithChain(program: FusedProgram, data: Float32Array[], label: string) {
  for (const backend of await allBackends()) {
    const inputs = data.slice(0, program.inputs).map((d) => backend.upload(d));
    const got = await backend.read(backend.fused(program, inputs));
    const chain = await backend.read(unfused(backend, program, inputs));
    const where = `${label} on ${backend.name}`;
    if (backend instanceof WebGpuBackend) {
      assertClose(got, chain, where, { rtol: 1e-5, atol: 1e-6 });
    } else assertSameBits(got, chain, where);
  }
}

Deno.test("fused: every unary and binary row in one program gives the chain's numbers", async () => {
  // Each family's rows applied to the inputs and summed into one output, so a wrong function
  // for any row shows in the result.
  const unaryRows = buildProgram(2, (a) =>
    (Object.keys(UNARY_OPS) as UnaryOp[])
      .map((op) => a.unary(op, op === "powScalar" ? 2 : 0.7))
      .reduce((sum, p) => sum.add(p)));
  const binaryRows = buildProgram(2, (a, b) =>
    (Object.keys(BINARY_OPS) as BinaryOp[])
      .map((op) => a.binary(op, b))
      .reduce((sum, p) => sum.add(p)));
  await compareWithChain(unaryRows, inputsWithSpecials(), "every unary row");
  await compareWithChain(binaryRows, inputsWithSpecials(), "every binary row");
  // Each row's own program too, where one non-finite value does not hide the others.
  const data = inputsWithSpecials();
  for (const op of Object.keys(UNARY_OPS) as UnaryOp[]) {
    await compareWithChain(buildProgram(1, (x) => x.unary(op, 1.5)), [data[0]], op);
  }
  for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
    await compareWithChain(buildProgram(2, (a, b) => a.binary(op, b)), data, op);
  }
});

Deno.test("fused: constants, reused steps, an unused step and an input as the result", async () => {
  const data = inputsWithSpecials();
  const programs: [string, FusedProgram][] = [
    ["constant first", buildProgram(1, (x) => x.constant(0.5).binary("ge", x).mul(x))],
    [
      "a step read three times",
      buildProgram(2, (a, b) => {
        const s = a.unary("sigmoid");
        return s.mul(b).add(s).sub(s.mul(s));
      }),
    ],
    [
      "an unused step",
      buildProgram(2, (a, b) => {
        a.unary("exp");
        return a.add(b);
      }),
    ],
    ["the input itself", buildProgram(2, (_a, b) => b)],
    ["a constant result", buildProgram(1, (x) => x.constant(-2.25))],
  ];
  for (const [label, program] of programs) await compareWithChain(program, data, label);
  // Every step's storage but the result's is freed when the call returns.
  const long = buildProgram(2, (a, b) => a.unary("exp").mul(b).add(a.constant(2)).unary("tanh"));
  for (const backend of await allBackends()) {
    const inputs = data.map((d) => backend.upload(d));
    const before = heldBuffers(backend);
    const y = backend.fused(long, inputs);
    assertEqual(heldBuffers(backend) - before, 1, `buffers held after on ${backend.name}`);
    backend.free(y);
  }
  // The result is a storage of its own: freeing it leaves the input readable.
  for (const backend of await allBackends()) {
    const x = backend.upload(data[1]);
    const y = backend.fused(programs[3][1], [backend.upload(data[0]), x]);
    backend.free(y);
    assertSameBits(
      await backend.read(x),
      data[1],
      `input after its copy is freed on ${backend.name}`,
    );
  }
});

Deno.test("fused: backward rules keep their values and take one WebGPU dispatch", async () => {
  const g = randomValues(64, 9);
  const cases: [string, (x: Tensor) => Tensor, boolean?][] = [
    ["silu", ew.silu],
    ["sigmoid", ew.sigmoid],
    ["tanh", ew.tanh],
    ["rsqrt", ew.rsqrt, true],
    ["sqrt", ew.sqrt, true],
    ["reciprocal", ew.reciprocal, true],
    ["square", ew.square],
    ["powScalar", (x) => ew.powScalar(x, 3)],
    ["abs", ew.abs],
    ["clampMin", (x) => ew.clampMin(x, 0.1)],
    ["clampMax", (x) => ew.clampMax(x, 0.1)],
  ];
  const expected = new Map<string, Float32Array>();
  for (const backend of await allBackends()) {
    for (const [name, fn, positive] of cases) {
      const values = randomValues(64, 3, positive ? 0.2 : -2, 2);
      const x = tensor(values, [8, 8], { backend, requiresGrad: true });
      const y = fn(x);
      const seed = tensor(g, [8, 8], { backend });
      const before = backend instanceof WebGpuBackend ? backend.rt.dispatchCount : 0;
      backward(y, seed);
      if (backend instanceof WebGpuBackend) {
        assertEqual(backend.rt.dispatchCount - before, 1, `${name} backward dispatches`);
      }
      const grad = (await x.grad!.data()) as Float32Array;
      if (backend === cpu) expected.set(name, grad);
      else assertClose(grad, expected.get(name)!, `${name} gradient on ${backend.name}`);
    }
  }
});

Deno.test("fused: the reference equals the unfused chain's gradients of each backward rule", async () => {
  // The rules before fusion, written as chains of recorded ops, on the reference backend.
  const x = tensor(randomValues(40, 4, 0.2, 2), [40], { backend: cpu });
  const g = tensor(randomValues(40, 5), [40], { backend: cpu });
  const s = ew.sigmoid(x);
  const chains: [string, Tensor, Tensor][] = [
    [
      "silu",
      ew.mul(g, ew.mul(s, ew.addScalar(ew.mul(x, ew.addScalar(ew.neg(s), 1)), 1))),
      ew.silu(x),
    ],
    ["sigmoid", ew.mul(g, ew.mul(s, ew.addScalar(ew.neg(s), 1))), s],
    [
      "rsqrt",
      ew.mul(g, ew.scale(ew.mul(ew.rsqrt(x), ew.mul(ew.rsqrt(x), ew.rsqrt(x))), -0.5)),
      ew.rsqrt(x),
    ],
  ];
  for (const [name, chain, out] of chains) {
    const leaf = tensor(await x.data(), [40], { backend: cpu, requiresGrad: true });
    const y = name === "silu"
      ? ew.silu(leaf)
      : name === "sigmoid"
      ? ew.sigmoid(leaf)
      : ew.rsqrt(leaf);
    backward(y, g);
    assertSameBits(await leaf.grad!.data(), await chain.data(), `${name} (${out.shape})`);
  }
});

Deno.test("fused: programs that differ only in scalars share one WebGPU pipeline", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const x = gpu.upload(randomValues(N, 6));
  const run = (p: number) =>
    gpu.fused(buildProgram(1, (v) => v.mul(p).add(p).binary("ge", p)), [x]);
  run(0.5);
  const pipelines = gpu.rt.pipelineCount;
  const outputs = [0.25, -1, 3].map(run);
  assertEqual(gpu.rt.pipelineCount, pipelines, "pipelines after three more scalars");
  const expected = [0.25, -1, 3].map((p) =>
    Float32Array.from(
      randomValues(N, 6),
      (v) => Math.fround(Math.fround(v * p) + p) >= Math.fround(p) ? 1 : 0,
    )
  );
  for (const [k, out] of outputs.entries()) {
    assertSameBits(await gpu.read(out), expected[k], `scalar ${[0.25, -1, 3][k]}`);
  }
});

Deno.test("fused: bad programs and inputs are refused by name", async () => {
  const bad = (steps: FusedStep[], inputs = 1) => () => checkProgram({ inputs, steps });
  assertThrows(bad([{ input: 1 }]), /step 0 .*no input 1 of 1/, "an input past the count");
  assertThrows(
    bad([{ input: 0 }, { unary: "exp", of: 1, p: 0 }]),
    /step 1 .*earlier/,
    "a forward read",
  );
  assertThrows(
    bad([{ input: 0 }, { binary: "mul", a: 0, b: -1 }]),
    /step 1 .*earlier/,
    "a negative index",
  );
  assertThrows(
    bad([{ input: 0 }, { unary: "cube" as UnaryOp, of: 0, p: 0 }]),
    /no unary op cube/,
    "an unknown op",
  );
  assertThrows(bad([], 1), /0 steps/, "no steps");
  assertThrows(bad([{ input: 0 }], MAX_FUSED_INPUTS + 1), /8 inputs/, "too many inputs");
  assertThrows(
    () => buildProgram(1, (x) => Array.from({ length: 60 }).reduce<typeof x>((v) => v.mul(2), x)),
    /61 steps/,
    "too many steps",
  );
  for (const backend of await allBackends()) {
    const program = buildProgram(2, (a, b) => a.mul(b));
    const a = backend.upload(new Float32Array(4));
    assertThrows(
      () => backend.fused(program, [a, backend.upload(new Float32Array(5))]),
      /input 1 holds 5 values, input 0 4/,
      `lengths on ${backend.name}`,
    );
    assertThrows(
      () => backend.fused(program, [a]),
      /reads 2 inputs, got 1/,
      `count on ${backend.name}`,
    );
    assertThrows(
      () => backend.fused(program, [a, backend.upload(new Int32Array(4))]),
      /input 1 is i32/,
      `dtype on ${backend.name}`,
    );
  }
  const a = tensor(new Float32Array(6), [2, 3], { backend: cpu });
  const b = tensor(new Float32Array(6), [3, 2], { backend: cpu });
  assertThrows(
    () => ew.fused([a, b], (a, b) => a.add(b)),
    /input 1 has shape \[3,2\], input 0 \[2,3\]/,
    "shapes",
  );
});
