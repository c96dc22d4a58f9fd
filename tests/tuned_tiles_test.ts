import { chooseTile, convBucket } from "../gpu/webgpu/conv-tile.ts";
import { createGpuRuntime } from "../gpu/webgpu/device.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { chooseTiles, TILES } from "../gpu/webgpu/matmul.ts";
import {
  adapterKey,
  loadTunedTiles,
  parseTunedTiles,
  type TunedTiles,
} from "../gpu/webgpu/tuned-tiles.ts";
import { conv2d } from "../nn/ops/conv.ts";
import { matmul } from "../nn/ops/matmul.ts";
import type { Tensor } from "../nn/tensor.ts";
import { assertEqual, assertThrows } from "./support/assert.ts";
import { cpu, gpuOrNull } from "./support/backends.ts";
import { compareBackends } from "./support/gradcheck.ts";

const MATMUL_8x4 = { wgx: 16, wgy: 8, tm: 8, tn: 4, stageA: true, stageB: true, kb: 8 };

function tuned(adapter: string): TunedTiles {
  return {
    adapter,
    measured: "test",
    matmul: { default: MATMUL_8x4 },
    conv: { default: { tm: 8, tn: 4, tk: 8 }, narrow: { tm: 8, tn: 8, tk: 16 } },
  };
}

Deno.test("tuned tiles: the classes' winners replace the built-in hardware tiles, and only there", () => {
  const t = tuned("gpu | vendor");
  const p = { batch: 1, m: 64, n: 64, k: 64, transA: false, transB: false };
  const mm = { ...p, aBatchStride: 0, bBatchStride: 0 };
  assertEqual(chooseTiles(false, mm, t), MATMUL_8x4, "tuned default class");
  assertEqual(chooseTiles(false, { ...mm, m: 1024, n: 1024 }, t), TILES.hardwareLarge, "untuned");
  assertEqual(chooseTiles(true, mm, t), TILES.softwareSmall, "software ignores tuning");
  assertEqual(convBucket(100, 8), "narrow", "few channels");
  assertEqual(chooseTile(100, 8, "hardware", t), { tm: 8, tn: 8, gx: 16, gy: 2, tk: 16 }, "narrow");
  assertEqual(chooseTile(100, 40, "hardware", t), { tm: 8, tn: 4, gx: 16, gy: 16, tk: 8 }, "mid");
  assertEqual(chooseTile(9000, 128, "hardware", t).tm, 8, "big stays built in");
});

Deno.test("tuned tiles: a missing, foreign or corrupt file leaves the defaults", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/tiles.json`;
  assertEqual(loadTunedTiles("a | b", path), null, "missing");
  Deno.writeTextFileSync(path, JSON.stringify(tuned("other | vendor")));
  assertEqual(loadTunedTiles("a | b", path), null, "another adapter's");
  Deno.writeTextFileSync(path, JSON.stringify(tuned("a | b")));
  assertEqual(loadTunedTiles("a | b", path)?.matmul.default, MATMUL_8x4, "this adapter's");
  Deno.writeTextFileSync(path, "{ not json");
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (m: string) => warnings.push(m);
  try {
    assertEqual(loadTunedTiles("a | b", path), null, "corrupt");
  } finally {
    console.warn = warn;
  }
  assertEqual(warnings.length === 1 && warnings[0].includes(path), true, "names the file");
  const bad = { ...tuned("a | b"), conv: { default: { tm: 0, tn: 4, tk: 8 } } };
  assertThrows(() => parseTunedTiles(JSON.stringify(bad)), /conv\.default is not a tile/, "shape");
  const flag = { ...tuned("a | b"), conv: { big: { tm: 8, tn: 8, tk: 16, prefetch: "yes" } } };
  assertThrows(() => parseTunedTiles(JSON.stringify(flag)), /conv\.big is not a tile/, "prefetch");
  const unknown = { ...tuned("a | b"), matmul: { huge: MATMUL_8x4 } };
  assertThrows(() => parseTunedTiles(JSON.stringify(unknown)), /matmul\.huge/, "class");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("tuned tiles: kernels built from tuned shapes agree with the reference", async () => {
  if (!(await gpuOrNull())) return;
  const t = tuned("any");
  const gpu = new WebGpuBackend(
    await createGpuRuntime("high-performance", { tiles: "hardware", tuned: t }),
  );
  const tol = { rtol: 1e-4, atol: 1e-4 };
  await compareBackends("tuned matmul", cpu, gpu, (a: Tensor, b: Tensor) => matmul(a, b), [
    { shape: [37, 70] },
    { shape: [70, 45] },
  ], tol);
  const conv = (x: Tensor, w: Tensor) => conv2d(x, w, null, { padding: 1, groups: 4 });
  await compareBackends("tuned grouped conv", cpu, gpu, conv, [
    { shape: [2, 32, 9, 7] },
    { shape: [32, 8, 3, 3] },
  ], tol);
  const dense = (x: Tensor, w: Tensor) => conv2d(x, w, null, { stride: 2, padding: 1 });
  await compareBackends("tuned conv", cpu, gpu, dense, [
    { shape: [2, 12, 11, 13] },
    { shape: [40, 12, 3, 3] },
  ], tol);
});

Deno.test("deno task tune --quick writes tiles this adapter then loads", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const dir = await Deno.makeTempDir();
  const out = `${dir}/tiles.json`;
  const run = await new Deno.Command(Deno.execPath(), {
    // no config: the tuner imports no package, and the GPU machine has no registry to fetch from
    args: [
      "run",
      "--no-config",
      "-A",
      new URL("../tools/tune-tiles.ts", import.meta.url).pathname,
      "--quick",
      "--out",
      out,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(run.stdout);
  if (!run.success) throw new Error(`tune failed: ${new TextDecoder().decode(run.stderr)}`);
  const key = adapterKey(gpu.rt.adapter.description, gpu.rt.adapter.vendor);
  const loaded = loadTunedTiles(key, out);
  assertEqual(loaded !== null, true, "the written file loads for this adapter");
  assertEqual(Object.keys(loaded!.matmul).sort(), ["default", "large"], "matmul classes");
  assertEqual(Object.keys(loaded!.conv).sort(), ["big", "default", "narrow"], "conv classes");
  assertEqual((text.match(/\| chosen \|/g) ?? []).length, 5, "one winner per class");
  await Deno.remove(dir, { recursive: true });
});
