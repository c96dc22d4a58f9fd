/**
 * The WASM SIMD backend against the TypeScript reference (CpuBackend) and, for convolution and
 * pooling, against direct float64 loops written here. Sizes are odd on purpose: batch 1, rows
 * and columns that are not multiples of the 4 x 8 register tile, the 256 / 128 / 512 cache
 * blocks or the thread count, so every ragged-edge path runs. Runs on 1 thread and on 3 threads
 * with every kernel forced parallel, so the work splits see tiny and uneven shares too.
 */

import type { Backend, Conv2dParams, Pool2dParams, StridedView, UnaryOp } from "../gpu/backend.ts";
import { contiguousStrides, denseView } from "../gpu/backend.ts";
import { CpuBackend } from "../gpu/cpu/backend.ts";
import { uniformAt } from "../gpu/random-hash.ts";
import { createWasmBackend, type WasmBackend } from "../gpu/wasm/backend.ts";
import { backward } from "../nn/autograd.ts";
import { smallCnn } from "../nn/models/small-cnn.ts";
import { crossEntropy } from "../nn/ops/loss.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { manualSeed } from "../nn/random.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";

const cpu = new CpuBackend();
const single = await createWasmBackend(1);
const multi = await createWasmBackend(3);
multi.rt.alwaysParallel = true;
const WASM: WasmBackend[] = [single, multi];

function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => lo + (hi - lo) * uniformAt(i, seed));
}

async function read(b: Backend, s: ReturnType<Backend["upload"]>): Promise<Float32Array> {
  const out = await b.read(s);
  b.free(s);
  return out as Float32Array;
}

/** Runs `op` on the reference and on every WASM backend and compares the outputs. */
async function same(
  label: string,
  inputs: (Float32Array | Int32Array)[],
  op: (b: Backend, s: ReturnType<Backend["upload"]>[]) => ReturnType<Backend["upload"]>,
  tol = { rtol: 1e-4, atol: 1e-5 },
  expected?: ArrayLike<number>,
): Promise<void> {
  const want = expected ?? await read(cpu, op(cpu, inputs.map((v) => cpu.upload(v))));
  for (const b of WASM) {
    const ins = inputs.map((v) => b.upload(v));
    const out = op(b, ins);
    assertClose(await read(b, out), want, `${label} [${b.description}]`, tol);
    ins.forEach((s) => s !== out && b.free(s));
  }
}

Deno.test("matmul: every transpose, ragged tiles, broadcast batches", async () => {
  // [2, 70, 300, 1100]: several column tiles over A packed once, K in three blocks (last ragged).
  const shapes = [
    [1, 1, 1, 1],
    [1, 5, 7, 3],
    [1, 17, 33, 300],
    [3, 130, 9, 70],
    [2, 3, 600, 40],
    [2, 70, 300, 1100],
  ];
  for (const [batch, m, n, k] of shapes) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const bStride = batch === 3 ? 0 : k * n;
        const q = { batch, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: bStride };
        const a = values(batch * m * k, m + k);
        const bv = values(bStride ? batch * k * n : k * n, n + 1);
        await same(`matmul ${JSON.stringify(q)}`, [a, bv], (b, [x, y]) => b.matmul(x, y, q), {
          rtol: 1e-4,
          atol: 1e-4,
        });
      }
    }
  }
});

/** Direct float64 convolution: forward, and the two gradients of sum(y * gy). */
function convReference(x: Float32Array, w: Float32Array, gy: Float32Array, q: Conv2dParams) {
  const cg = q.c / q.groups;
  const og = q.o / q.groups;
  const y = new Float64Array(q.n * q.o * q.oh * q.ow);
  const gx = new Float64Array(x.length);
  const gw = new Float64Array(w.length);
  for (let n = 0; n < q.n; n++) {
    for (let o = 0; o < q.o; o++) {
      const g = Math.floor(o / og);
      for (let oy = 0; oy < q.oh; oy++) {
        for (let ox = 0; ox < q.ow; ox++) {
          const yi = ((n * q.o + o) * q.oh + oy) * q.ow + ox;
          for (let c = 0; c < cg; c++) {
            for (let i = 0; i < q.kh; i++) {
              for (let j = 0; j < q.kw; j++) {
                const ih = oy * q.strideH - q.padH + i * q.dilationH;
                const iw = ox * q.strideW - q.padW + j * q.dilationW;
                if (ih < 0 || ih >= q.h || iw < 0 || iw >= q.w) continue;
                const xi = ((n * q.c + g * cg + c) * q.h + ih) * q.w + iw;
                const wi = ((o * cg + c) * q.kh + i) * q.kw + j;
                y[yi] += x[xi] * w[wi];
                gx[xi] += gy[yi] * w[wi];
                gw[wi] += gy[yi] * x[xi];
              }
            }
          }
        }
      }
    }
  }
  return { y, gx, gw };
}

/** PyTorch's geometry from (n, c, h, w, o, [kh, kw], [stride, padding, dilation, groups]). */
function convParams(
  n: number,
  c: number,
  h: number,
  w: number,
  o: number,
  [kh, kw]: number[],
  [s, p, d, groups]: number[],
): Conv2dParams {
  const out = (size: number, k: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
  const sym = { strideH: s, strideW: s, padH: p, padW: p, dilationH: d, dilationW: d };
  return { n, c, h, w, o, kh, kw, ...sym, groups, oh: out(h, kh), ow: out(w, kw) };
}

Deno.test("conv2d forward, grad-input, grad-weight: stride, padding, dilation, groups", async () => {
  const cases: [string, Conv2dParams][] = [
    ["3x3 pad 1, batch 1", convParams(1, 3, 7, 9, 5, [3, 3], [1, 1, 1, 1])],
    ["stride 2, batch 3", convParams(3, 4, 11, 10, 6, [3, 3], [2, 1, 1, 1])],
    ["dilation 2, 1x3", convParams(2, 5, 9, 8, 3, [1, 3], [1, 2, 2, 1])],
    ["1x1", convParams(2, 9, 5, 6, 11, [1, 1], [1, 0, 1, 1])],
    ["7x7 stride 2 pad 3", convParams(1, 3, 19, 17, 4, [7, 7], [2, 3, 1, 1])],
    ["groups 3", convParams(2, 6, 7, 7, 9, [3, 3], [1, 1, 1, 3])],
    ["depthwise", convParams(2, 5, 9, 7, 5, [3, 3], [1, 1, 1, 5])],
    ["depthwise x2, stride 2", convParams(1, 3, 10, 9, 6, [5, 5], [2, 2, 1, 3])],
    ["one input channel", convParams(2, 1, 12, 11, 7, [5, 5], [1, 0, 1, 1])],
    ["deep: ck > KC, 576 positions", convParams(1, 33, 24, 24, 10, [3, 3], [1, 1, 1, 1])],
    ["wide: o > MC", convParams(2, 4, 5, 5, 131, [3, 3], [1, 1, 1, 1])],
    ["tiny maps across a batch", convParams(5, 20, 2, 2, 24, [3, 3], [1, 1, 1, 1])],
    ["ck > KC", convParams(1, 61, 6, 5, 7, [3, 3], [1, 1, 1, 1])],
    ["few gW tiles, long sum (split-K)", convParams(4, 3, 24, 24, 5, [3, 3], [1, 1, 1, 1])],
  ];
  for (const [label, q] of cases) {
    const x = values(q.n * q.c * q.h * q.w, 3);
    const w = values(q.o * (q.c / q.groups) * q.kh * q.kw, 4);
    const gy = values(q.n * q.o * q.oh * q.ow, 5);
    const ref = convReference(x, w, gy, q);
    const tol = { rtol: 1e-4, atol: 1e-4 };
    await same(`conv2d ${label}`, [x, w], (b, [s, t]) => b.conv2d(s, t, q), tol, ref.y);
    await same(
      `conv grad-input ${label}`,
      [gy, w],
      (b, [g, t]) => b.conv2dGradInput(g, t, q),
      tol,
      ref.gx,
    );
    await same(
      `conv grad-weight ${label}`,
      [x, gy],
      (b, [s, g]) => b.conv2dGradWeight(s, g, q),
      tol,
      ref.gw,
    );
  }
});

function poolParams(
  [n, c, h, w]: number[],
  k: number,
  s: number,
  p: number,
  countIncludePad: boolean,
): Pool2dParams {
  const out = (size: number) => Math.floor((size + 2 * p - k) / s) + 1;
  const sym = { kh: k, kw: k, strideH: s, strideW: s, padH: p, padW: p };
  return { n, c, h, w, ...sym, oh: out(h), ow: out(w), countIncludePad };
}

/** Direct pooling (PyTorch's rules) and the gradients of sum(y * gy). */
function poolReference(x: Float32Array, gy: Float32Array, q: Pool2dParams) {
  const out = { max: [] as number[], avg: [] as number[] };
  const gMax = new Float64Array(x.length);
  const gAvg = new Float64Array(x.length);
  for (let pl = 0; pl < q.n * q.c; pl++) {
    for (let oy = 0; oy < q.oh; oy++) {
      for (let ox = 0; ox < q.ow; ox++) {
        const hs = oy * q.strideH - q.padH;
        const ws = ox * q.strideW - q.padW;
        const cells: number[] = [];
        for (let ih = Math.max(hs, 0); ih < Math.min(hs + q.kh, q.h); ih++) {
          for (let iw = Math.max(ws, 0); iw < Math.min(ws + q.kw, q.w); iw++) {
            cells.push((pl * q.h + ih) * q.w + iw);
          }
        }
        const g = gy[(pl * q.oh + oy) * q.ow + ox];
        const best = cells.reduce((a, i) => (x[i] > x[a] ? i : a), cells[0]);
        out.max.push(x[best]);
        gMax[best] += g;
        const divisor = q.countIncludePad
          ? (Math.min(hs + q.kh, q.h + q.padH) - hs) * (Math.min(ws + q.kw, q.w + q.padW) - ws)
          : cells.length;
        out.avg.push(cells.reduce((a, i) => a + x[i], 0) / divisor);
        for (const i of cells) gAvg[i] += g / divisor;
      }
    }
  }
  return { ...out, gMax, gAvg };
}

Deno.test("pooling: max and average, padding, both divisor rules", async () => {
  const cases = [
    poolParams([2, 3, 9, 7], 3, 2, 1, true),
    poolParams([1, 5, 8, 8], 2, 2, 0, true),
    poolParams([3, 2, 11, 6], 3, 1, 1, false),
    poolParams([1, 1, 5, 5], 5, 1, 2, true),
    poolParams([2, 3, 20, 23], 3, 2, 1, false),
    poolParams([1, 2, 13, 17], 3, 3, 0, true),
  ];
  for (const q of cases) {
    const x = values(q.n * q.c * q.h * q.w, 7);
    const gy = values(q.n * q.c * q.oh * q.ow, 8);
    const ref = poolReference(x, gy, q);
    const at = JSON.stringify(q);
    await same(
      `maxPool2d ${at}`,
      [x],
      (b, [s]) => {
        const r = b.maxPool2d(s, q);
        b.free(r.argmax);
        return r.y;
      },
      undefined,
      ref.max,
    );
    await same(
      `maxPool2d backward ${at}`,
      [x, gy],
      (b, [s, g]) => {
        const r = b.maxPool2d(s, q);
        b.free(r.y);
        const gx = b.maxPool2dBackward(g, r.argmax, q);
        b.free(r.argmax);
        return gx;
      },
      undefined,
      ref.gMax,
    );
    await same(`avgPool2d ${at}`, [x], (b, [s]) => b.avgPool2d(s, q), undefined, ref.avg);
    await same(`avgPool2d backward ${at}`, [gy], (b, [g]) => b.avgPool2dBackward(g, q), {
      rtol: 1e-4,
      atol: 1e-5,
    }, ref.gAvg);
  }
});

Deno.test("batch norm: statistics, apply, backward with and without batch statistics", async () => {
  for (
    const s of [{ n: 3, c: 5, spatial: 37 }, { n: 7, c: 3, spatial: 1 }, { n: 1, c: 2, spatial: 4 }]
  ) {
    const x = values(s.n * s.c * s.spatial, 11, -2, 3);
    const gy = values(x.length, 12);
    const gamma = values(s.c, 13, 0.5, 1.5);
    const beta = values(s.c, 14);
    const at = JSON.stringify(s);
    for (const part of ["mean", "variance"] as const) {
      await same(`batchNormStats ${part} ${at}`, [x], (b, [t]) => {
        const r = b.batchNormStats(t, s);
        b.free(part === "mean" ? r.variance : r.mean);
        return r[part];
      });
    }
    const stats = (b: Backend, t: ReturnType<Backend["upload"]>) => b.batchNormStats(t, s);
    await same(`batchNormApply ${at}`, [x, gamma, beta], (b, [t, g, bb]) => {
      const { mean, variance } = stats(b, t);
      return b.batchNormApply(t, mean, variance, g, bb, 1e-5, s);
    });
    for (const batchStats of [true, false]) {
      for (const part of ["gx", "gGamma", "gBeta"] as const) {
        await same(
          `batchNormBackward ${part} ${batchStats} ${at}`,
          [x, gy, gamma],
          (b, [t, g, gm]) => {
            const { mean, variance } = stats(b, t);
            const r = b.batchNormBackward(t, g, mean, variance, gm, 1e-5, s, batchStats);
            for (const k of ["gx", "gGamma", "gBeta"] as const) if (k !== part) b.free(r[k]);
            return r[part];
          },
          { rtol: 1e-4, atol: 1e-4 },
        );
      }
    }
  }
});

const UNARY = ("neg exp log sqrt rsqrt abs sign relu step sigmoid tanh silu square reciprocal " +
  "scale addScalar powScalar reverseGrad clampMin clampMax").split(" ") as UnaryOp[];
const BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "gt", "ge"] as const;

Deno.test("element-wise: every unary and binary op, broadcast and strided views", async () => {
  const x = values(1031, 21, -3, 3);
  x[0] = 0;
  x[1] = -0;
  const positive = values(1031, 22, 0.1, 4);
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
      const a = values(aShape.reduce((p, d) => p * d, 1), 23, 0.2, 2);
      const bv = values(bShape.reduce((p, d) => p * d, 1), 24, 0.2, 2);
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
  const y = values(1031, 25);
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
  const x = values(360, 31);
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
  const src = values(3 * 2 * 5 * 6, 32);
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
  const p = values(1000, 41);
  const g = values(1000, 42);
  for (const nesterov of [false, true]) {
    for (const firstStep of [true, false]) {
      const q = { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3, nesterov, firstStep };
      await same(`sgd ${JSON.stringify(q)}`, [p, g, values(1000, 43)], (b, [pp, gg, buf]) => {
        b.sgdStep(pp, gg, buf, q);
        return pp;
      }, { rtol: 1e-6, atol: 1e-6 });
    }
  }
  const adam = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };
  await same("adam", [p, g, values(1000, 44), values(1000, 45, 0, 1)], (b, [pp, gg, m, v]) => {
    b.adamStep(pp, gg, m, v, adam);
    return pp;
  }, { rtol: 1e-5, atol: 1e-6 });
  await same("log-softmax", [values(60, 46)], (b, [s]) => b.softmax(s, 6, 10, true));
  const labels = Int32Array.from([0, 3, 9, 2, 5, 1]);
  await same("cross-entropy", [values(60, 47), labels], (b, [l, y]) => {
    const r = b.crossEntropy(l, y, null, 6, 10, -100);
    b.free(r.weight);
    return r.loss;
  });
});

Deno.test("thread count does not change any result bit", async () => {
  const q = convParams(3, 8, 13, 13, 12, [3, 3], [1, 1, 1, 1]);
  const x = values(q.n * q.c * q.h * q.w, 51);
  const w = values(q.o * q.c * 9, 52);
  const results = await Promise.all(WASM.map(async (b) => {
    const [xs, ws] = [b.upload(x), b.upload(w)];
    const y = b.conv2d(xs, ws, q);
    const m = b.matmul(y, ws, {
      batch: 1,
      m: 1,
      n: q.o * q.c * 9 / 36,
      k: 36,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    });
    const s = b.reduce("sum", y, [q.n, q.o, q.oh * q.ow], [0, 2]);
    const out = [await read(b, y), await read(b, m), await read(b, s)];
    b.free(xs);
    b.free(ws);
    return out;
  }));
  results[1].forEach((r, i) =>
    assertEqual(Array.from(r), Array.from(results[0][i]), `output ${i}`)
  );
});

Deno.test("memory: pooled reuse, ownership and bounds are enforced", async () => {
  const b = single;
  const before = b.memory();
  const s = b.upload(values(100, 61));
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
    const x = tensor(values(4 * 3 * 28 * 28, 71), [4, 3, 28, 28], { backend });
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
