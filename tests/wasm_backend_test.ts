/**
 * The WASM SIMD backend's element-wise, layout, reduction and optimiser kernels against the
 * TypeScript reference, results independent of the thread count, heap ownership, and three
 * training steps of a small CNN.
 */

import type { Backend, BinaryOp, StridedView, UnaryOp } from "../gpu/backend.ts";
import { BINARY_OPS, UNARY_OPS } from "../gpu/elementwise-ops.ts";
import { contiguousStrides, denseView } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { smallCnn } from "../nn/models/small-cnn.ts";
import { crossEntropy } from "../nn/ops/loss.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { manualSeed } from "../nn/random.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import { multi, same, single } from "./support/wasm-compare.ts";
import { cpu } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";

const UNARY = Object.keys(UNARY_OPS) as UnaryOp[];
const BINARY = Object.keys(BINARY_OPS) as BinaryOp[];

Deno.test("element-wise: every unary and binary op, broadcast and strided views", async () => {
  const x = randomValues(1031, 21, -3, 3);
  x[0] = 0;
  x[1] = -0;
  const positive = randomValues(1031, 22, 0.1, 4);
  for (const op of UNARY) {
    const input = ["log", "sqrt", "rsqrt", "powScalar"].includes(op) ? positive : x;
    await same(`unary ${op}`, [input], (b, [s]) => b.unary(op, s, 0.7), { rtol: 2e-6, atol: 1e-7 });
  }
  const view = (shape: number[], strides: number[]) => ({ shape, strides, offset: 0 });
  // [label, a's storage shape, b's storage shape, a's view, b's view]
  const views: [string, number[], number[], StridedView, StridedView][] = [
    ["dense", [3, 5, 7], [3, 5, 7], denseView([3, 5, 7]), denseView([3, 5, 7])],
    ["scalar", [4, 9], [1], denseView([4, 9]), view([4, 9], [0, 0])],
    ["channel", [2, 3, 11], [3], denseView([2, 3, 11]), view([2, 3, 11], [0, 1, 0])],
    ["transposed", [5, 6], [6, 5], view([6, 5], [1, 6]), denseView([6, 5])],
  ];
  for (const op of BINARY) {
    for (const [label, aShape, bShape, aView, bView] of views) {
      const a = randomValues(aShape.reduce((p, d) => p * d, 1), 23, 0.2, 2);
      const bv = randomValues(bShape.reduce((p, d) => p * d, 1), 24, 0.2, 2);
      if (op === "eq") bv.set(a.subarray(0, Math.min(a.length, bv.length, 3)));
      await same(
        `binary ${op} ${label}`,
        [a, bv],
        (b, [s, t]) => b.binary(op, s, aView, t, bView),
        {
          rtol: 2e-6,
          atol: 1e-7,
        },
      );
    }
  }
  const y = randomValues(1031, 25);
  await same("axpby", [x, y], (b, [s, t]) => b.axpby(0.3, s, -1.7, t), { rtol: 1e-6, atol: 1e-6 });
  await same("cast to i32 and back", [x], (b, [s]) => {
    const i = b.cast(s, "i32");
    const f = b.cast(i, "f32");
    b.free(i);
    return f;
  });
  await same("fill", [], (b) => b.fill(37, -2.5, "f32"));
});

Deno.test("layout and reductions: gather, copyInto, sum/max/min over axis sets", async () => {
  const shape = [3, 4, 5, 6];
  const x = randomValues(360, 31);
  const st = contiguousStrides(shape);
  const gathers: [string, StridedView][] = [
    ["permute", { shape: [6, 3, 5, 4], strides: [st[3], st[0], st[2], st[1]], offset: 0 }],
    ["flip", { shape, strides: [st[0], -st[1], st[2], -st[3]], offset: 3 * st[1] + 5 }],
    ["broadcast", { shape: [2, 3, 4, 5, 6], strides: [0, ...st], offset: 0 }],
    ["slice", { shape: [3, 2, 5, 6], strides: st, offset: st[1] }],
  ];
  for (const [label, view] of gathers) {
    await same(`gather ${label}`, [x], (b, [s]) => b.gather(s, view));
  }
  const src = randomValues(3 * 2 * 5 * 6, 32);
  await same("copyInto slice", [x, src], (b, [dst, s]) => {
    const out = b.gather(dst, denseView(shape));
    b.copyInto(s, out, { shape: [3, 2, 5, 6], strides: st, offset: st[1] });
    return out;
  });
  const axesSets = [[3], [0], [0, 2, 3], [1, 2], [0, 1, 2, 3], [2], []];
  for (const op of ["sum", "max", "min"] as const) {
    for (const axes of axesSets) {
      await same(`reduce ${op} [${axes}]`, [x], (b, [s]) => b.reduce(op, s, shape, axes), {
        rtol: 1e-5,
        atol: 1e-5,
      });
    }
  }
});

Deno.test("optimisers and reference-twin ops match the CPU backend", async () => {
  // two parameters (1000 and 24 elements) whose state starts 5 elements into the buffers
  const p = randomValues(1000, 41);
  const g = randomValues(1000, 42);
  const p2 = randomValues(24, 48);
  const g2 = randomValues(24, 49);
  const state = (seed: number, lo = -1) => randomValues(1029, seed, lo, 1);
  for (const nesterov of [false, true]) {
    for (const firstStep of [true, false]) {
      const q = { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3, nesterov, firstStep };
      for (const pick of [0, 1, 2]) {
        await same(
          `sgd ${JSON.stringify(q)} output ${pick}`,
          [p, g, p2, g2, state(43)],
          (b, [pp, gg, pp2, gg2, buf]) => {
            b.sgdStepGroup([pp, pp2], [gg, gg2], buf, 5, q);
            return [pp, pp2, buf][pick];
          },
          { rtol: 1e-6, atol: 1e-6 },
        );
      }
    }
  }
  const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };
  for (const [label, pick] of [["param", 0], ["second param", 1], ["v", 2]] as const) {
    await same(
      `adam ${label}`,
      [p, g, p2, g2, state(44), state(45, 0)],
      (b, [pp, gg, pp2, gg2, m, v]) => {
        b.adamStepGroup([pp, pp2], [gg, gg2], m, v, 5, adam);
        return [pp, pp2, v][pick];
      },
      { rtol: 1e-5, atol: 1e-6 },
    );
  }
  await same("log-softmax", [randomValues(60, 46)], (b, [s]) => b.softmax(s, 6, 10, true));
  const labels = Int32Array.from([0, 3, 9, 2, 5, 1]);
  await same("cross-entropy", [randomValues(60, 47), labels], (b, [l, y]) => {
    const r = b.crossEntropy(l, y, null, 6, 10, -100);
    b.free(r.weight);
    return r.loss;
  });
});

Deno.test("memory: pooled reuse, ownership and bounds are enforced", async () => {
  const b = single;
  const before = b.memory();
  const s = b.upload(randomValues(100, 61));
  assertEqual(b.memory().liveBuffers, before.liveBuffers + 1, "live buffers after upload");
  b.free(s);
  assertEqual(b.memory().liveBytes, before.liveBytes, "live bytes after free");
  assertThrows(() => b.free(s), /after free/, "double free");
  assertThrows(() => b.unary("neg", s, 0), /after free/, "use after free");
  assertThrows(
    () => b.unary("neg", cpu.upload(new Float32Array(2)), 0),
    /does not belong/,
    "foreign",
  );
  const t = b.upload(new Float32Array(10));
  const bad = { shape: [4], strides: [3], offset: 2 };
  assertThrows(() => b.gather(t, bad), /reaches elements 2\.\.11 of a storage of 10/, "bounds");
  const again = b.zeros(10, "f32");
  assertEqual(Array.from(await b.read(again)), new Array(10).fill(0), "zeros after reuse");
  b.free(t);
  b.free(again);
});

Deno.test("small CNN: three SGD steps on WASM follow the CPU backend's losses", async () => {
  const losses: number[][] = [];
  for (const backend of [cpu, multi] as Backend[]) {
    manualSeed(5);
    const model = smallCnn({ backend });
    const optimizer = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
    const x = tensor(randomValues(4 * 3 * 28 * 28, 71), [4, 3, 28, 28], { backend });
    const y = tensor(Int32Array.from([1, 7, 3, 9]), [4], { backend });
    const run: number[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = tidy(() => {
        optimizer.zeroGrad();
        const l = crossEntropy(model.forward(x), y);
        backward(l);
        optimizer.step();
        return l;
      });
      run.push(await loss.item());
      loss.dispose();
    }
    losses.push(run);
  }
  assertClose(losses[1], losses[0], "losses", { rtol: 1e-4, atol: 1e-5 });
  if (!(losses[0][2] < losses[0][0])) throw new Error(`loss did not fall: ${losses[0]}`);
});
