/**
 * The WASM SIMD backend's GEMM-shaped and windowed kernels against the TypeScript reference and,
 * for convolution and pooling, against direct float64 loops written here. Sizes are odd on
 * purpose: batch 1, rows and columns that are not multiples of the 4 x 8 register tile, the
 * 512 / 64 / 256 cache blocks or the thread count, so every ragged-edge path runs.
 */

import type { Backend, Conv2dParams, Pool2dParams } from "../gpu/backend.ts";
import { multi, read, same, single } from "./support/wasm-compare.ts";
import { convParams } from "./support/conv-params.ts";
import { randomValues } from "./support/gradcheck.ts";
import { assertEqual } from "./support/assert.ts";

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
        const a = randomValues(batch * m * k, m + k);
        const bv = randomValues(bStride ? batch * k * n : k * n, n + 1);
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
    const x = randomValues(q.n * q.c * q.h * q.w, 3);
    const w = randomValues(q.o * (q.c / q.groups) * q.kh * q.kw, 4);
    const gy = randomValues(q.n * q.o * q.oh * q.ow, 5);
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
    const x = randomValues(q.n * q.c * q.h * q.w, 7);
    const gy = randomValues(q.n * q.c * q.oh * q.ow, 8);
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
    const x = randomValues(s.n * s.c * s.spatial, 11, -2, 3);
    const gy = randomValues(x.length, 12);
    const gamma = randomValues(s.c, 13, 0.5, 1.5);
    const beta = randomValues(s.c, 14);
    const at = JSON.stringify(s);
    const runningMean = randomValues(s.c, 15);
    const runningVar = randomValues(s.c, 16, 0.5, 2);
    const outputs = ["mean", "variance", "runningMean", "runningVar", "count"] as const;
    for (const [k, part] of outputs.entries()) {
      await same(
        `batchNormStatsRunning ${part} ${at}`,
        [x, runningMean, runningVar, Int32Array.from([5])],
        (b, [t, rm, rv, count]) => {
          const r = b.batchNormStatsRunning(t, s, rm, rv, count, 0.1);
          const all = [r.mean, r.variance, rm, rv, count];
          for (const [j, o] of all.entries()) if (j !== k && j < 2) b.free(o);
          return all[k];
        },
      );
    }
    const stats = (b: Backend, t: ReturnType<Backend["upload"]>) => {
      const [rm, rv] = [b.zeros(s.c, "f32"), b.zeros(s.c, "f32")];
      const r = b.batchNormStatsRunning(t, s, rm, rv, null, 0.1);
      b.free(rm);
      b.free(rv);
      return r;
    };
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

/**
 * The WASM GEMM's threads split C, never a sum, so results are bit-identical on any thread
 * count. The BLAS's own kernels may round chunk edges differently (tests/blas_test.ts holds it
 * to run-to-run identity at a fixed thread count instead).
 */
Deno.test("thread count does not change any result bit", async () => {
  const q = convParams(3, 8, 13, 13, 12, [3, 3], [1, 1, 1, 1]);
  const x = randomValues(q.n * q.c * q.h * q.w, 51);
  const w = randomValues(q.o * q.c * 9, 52);
  const results = await Promise.all([single, multi].map(async (b) => {
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
