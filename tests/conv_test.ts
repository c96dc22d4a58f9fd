import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { conv2d, type Conv2dOptions, conv2dParams } from "../nn/ops/conv.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import {
  allBackends,
  comparedBackends,
  cpu,
  gpuOrNull,
  withHardwareTiles,
} from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec } from "./support/gradcheck.ts";

interface FixtureCase {
  name: string;
  params: { stride: number[]; padding: number[]; dilation: number[]; groups: number };
  shapes: { x: number[]; w: number[]; y: number[] };
  x: number[];
  w: number[];
  b: number[] | null;
  gy: number[];
  y: number[];
  gx: number[];
  gw: number[];
  gb: number[] | null;
}

const fixtures: { cases: FixtureCase[] } = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/conv.json", import.meta.url)),
);

function options(c: FixtureCase): Conv2dOptions {
  const pair = (v: number[]) => [v[0], v[1]] as const;
  return {
    stride: pair(c.params.stride),
    padding: pair(c.params.padding),
    dilation: pair(c.params.dilation),
    groups: c.params.groups,
  };
}

async function checkFixture(backend: Backend, c: FixtureCase): Promise<void> {
  const label = `${c.name} [${backend.name}]`;
  const x = tensor(c.x, c.shapes.x, { backend, requiresGrad: true });
  const w = tensor(c.w, c.shapes.w, { backend, requiresGrad: true });
  const b = c.b ? tensor(c.b, [c.b.length], { backend, requiresGrad: true }) : null;
  const y = conv2d(x, w, b, options(c));
  assertEqual(y.shape, c.shapes.y, `${label} output shape`);
  const yValues = await y.data();
  backward(y, tensor(c.gy, c.shapes.y, { backend }));
  const tol = { rtol: 1e-4, atol: 1e-4 };
  assertClose(yValues, c.y, `${label} y`, tol);
  assertClose(await x.grad!.data(), c.gx, `${label} grad input`, tol);
  assertClose(await w.grad!.data(), c.gw, `${label} grad weight`, tol);
  if (c.gb) assertClose(await b!.grad!.data(), c.gb, `${label} grad bias`, tol);
  for (const t of [x, w, b, y, x.grad, w.grad, b?.grad]) t?.dispose();
}

Deno.test("conv2d: output, grad input, grad weight and grad bias match PyTorch", async () => {
  for (const backend of await withHardwareTiles(await allBackends())) {
    for (const c of fixtures.cases) await checkFixture(backend, c);
  }
});

/** The spec list and the op for (x, w, bias?) with the given options. */
function convCase(x: number[], w: number[], bias: boolean, opts: Conv2dOptions) {
  const specs: InputSpec[] = [{ shape: x }, { shape: w }];
  if (bias) specs.push({ shape: [w[0]] });
  const fn = (...t: Tensor[]) => conv2d(t[0], t[1], t[2] ?? null, opts);
  return { specs, fn };
}

Deno.test("conv2d: finite differences on the CPU twin", async () => {
  const cases: [string, number[], number[], boolean, Conv2dOptions][] = [
    ["3x3 pad 1", [1, 2, 5, 4], [3, 2, 3, 3], true, { padding: 1 }],
    ["stride 2 dilation 2", [1, 2, 7, 6], [2, 2, 3, 3], false, {
      stride: 2,
      padding: 1,
      dilation: 2,
    }],
    ["groups 2", [1, 4, 5, 5], [4, 2, 3, 3], true, { padding: 1, groups: 2 }],
    ["depthwise stride 2", [2, 3, 5, 5], [3, 1, 3, 3], false, { stride: 2, padding: 1, groups: 3 }],
    ["rectangular", [1, 2, 4, 6], [2, 2, 2, 3], true, { stride: [1, 2], padding: [1, 0] }],
  ];
  for (const [name, x, w, bias, opts] of cases) {
    const { specs, fn } = convCase(x, w, bias, opts);
    await gradCheck(`conv2d ${name}`, cpu, fn, specs);
  }
});

Deno.test("conv2d: finite differences through the WebGPU kernels", async () => {
  const gpu = await gpuOrNull();
  if (!gpu) return;
  const { specs, fn } = convCase([1, 2, 5, 5], [3, 2, 3, 3], true, { stride: 2, padding: 1 });
  await gradCheck("conv2d stride 2", gpu, fn, specs, { rtol: 5e-2, atol: 5e-3 });
});

Deno.test("conv2d: the reference, WASM and WebGPU kernels agree off tile boundaries", async () => {
  const others = await withHardwareTiles(await comparedBackends());
  const cases: [string, number[], number[], boolean, Conv2dOptions][] = [
    ["batch 1, 3 channels, odd size", [1, 3, 11, 9], [5, 3, 3, 3], true, { padding: 1 }],
    ["1x1", [2, 7, 5, 6], [9, 7, 1, 1], true, {}],
    ["7x7 stride 2 pad 3", [1, 3, 17, 15], [8, 3, 7, 7], false, { stride: 2, padding: 3 }],
    ["stride 2", [2, 5, 9, 10], [6, 5, 3, 3], true, { stride: 2, padding: 1 }],
    ["dilation 2", [2, 4, 11, 9], [5, 4, 3, 3], false, { dilation: 2, padding: 2 }],
    ["groups 4", [2, 8, 9, 7], [12, 2, 3, 3], true, { groups: 4, padding: 1 }],
    ["depthwise stride 2", [2, 6, 9, 8], [6, 1, 3, 3], true, { groups: 6, padding: 1, stride: 2 }],
    ["depthwise 5x5", [1, 4, 10, 13], [4, 1, 5, 5], false, { groups: 4, padding: 2 }],
    // The 16 x 16 register tiles in all three kernels, then the mixed 8 x 8 / 8 x 16 / 16 x 8 ones.
    ["16x16 tiles", [1, 36, 15, 13], [72, 36, 3, 3], true, { padding: 1 }],
    ["mixed tiles, stride 2", [1, 36, 13, 11], [20, 36, 3, 3], false, { stride: 2, padding: 1 }],
    // The hardware tiles: 8 x 8 per invocation (m >= 8192 pixels, over 64 channels), and the
    // narrow ones of a grouped conv with 8 channels per group (ResNeXt's first stage).
    ["hardware 8x8 tiles", [2, 8, 64, 65], [72, 8, 3, 3], true, { padding: 1 }],
    ["8 channels per group", [2, 32, 9, 9], [32, 8, 3, 3], false, { groups: 4, padding: 1 }],
  ];
  for (const [name, x, w, bias, opts] of cases) {
    const { specs, fn } = convCase(x, w, bias, opts);
    await compareBackends(`conv2d ${name}`, cpu, others, fn, specs, { rtol: 1e-4, atol: 1e-4 });
  }
});

Deno.test("conv2d: PyTorch output-size arithmetic and clear errors", () => {
  const p = conv2dParams([2, 6, 15, 11], [4, 3, 3, 5], {
    stride: [2, 3],
    padding: [1, 2],
    dilation: [2, 1],
    groups: 2,
  });
  // oh = floor((15 + 2 - 2*2 - 1) / 2) + 1 = 7; ow = floor((11 + 4 - 4 - 1) / 3) + 1 = 4
  assertEqual([p.oh, p.ow], [7, 4], "output size");
  assertThrows(() => conv2dParams([1, 3, 5, 5], [4, 2, 3, 3]), /expects 2 input channels/, "C");
  assertThrows(() => conv2dParams([1, 6, 5, 5], [4, 2, 3, 3], { groups: 4 }), /must divide/, "g");
  assertThrows(() => conv2dParams([1, 3, 2, 2], [4, 3, 3, 3]), /does not fit/, "kernel size");
  assertThrows(() => conv2dParams([3, 5, 5], [4, 3, 3, 3]), /\[N, C, H, W\]/, "rank");
  assertThrows(() => conv2dParams([1, 3, 5, 5], [4, 3, 3, 3], { stride: 0 }), /stride/, "stride");
  const x = tensor(new Float32Array(75), [1, 3, 5, 5], { backend: cpu });
  const w = tensor(new Float32Array(108), [4, 3, 3, 3], { backend: cpu });
  const b = tensor([1, 2, 3], [3], { backend: cpu });
  assertThrows(() => conv2d(x, w, b), /bias must be \[4\]/, "bias shape");
});
