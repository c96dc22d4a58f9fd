import { bucketSize } from "../gpu/webgpu/buffer-pool.ts";
import { GpuRuntime } from "../gpu/webgpu/runtime.ts";
import { kernelSource, parseFamily } from "../gpu/webgpu/shader-source.ts";
import { chooseTile, tileDefines, tileWidth } from "../gpu/webgpu/conv-tile.ts";
import { collapseViews } from "../gpu/views.ts";
import { sum } from "../nn/ops/reduce.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import { exp } from "../nn/ops/elementwise.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { gpuOrNull } from "./support/backends.ts";

Deno.test("WGSL family files split into common and kernel sections", () => {
  const f = parseFamily("//! common\nfn a() {}\n//! kernel one\nX\n//! kernel two\nY\n", "demo");
  assertEqual([...f.kernels.keys()], ["one", "two"], "kernel names");
  assertEqual(f.common.trim(), "fn a() {}", "common part");
  assertThrows(
    () => parseFamily("fn a() {}", "empty"),
    /empty\.wgsl declares no kernel/,
    "no kernels",
  );
});

Deno.test("WGSL templates: blocks fill a template's holes; includes come from the prelude", () => {
  const f = parseFamily(
    "//! common\n//! include divmod\n//! template t\nA {{X}} B {{Y}}\n" +
      "//! kernel k uses t\n//! block X\nx1\n//! block Y\ny1\n",
    "demo",
  );
  assertEqual(f.includes, ["divmod"], "includes");
  assertEqual([...f.uses.get("k")!.blocks.entries()], [["X", "x1"], ["Y", "y1"]], "blocks");
  const linear = parseFamily("//! kernel k\n//! main over P.rows as r\nY[r] = 1.0;\n}\n", "demo");
  const body = linear.kernels.get("k")!;
  if (!body.includes("let r = linearIndex(") || !body.includes("if (r >= P.rows) {")) {
    throw new Error(`//! main over did not open an entry point: ${body}`);
  }
  assertThrows(
    () => parseFamily("//! kernel k uses t\nstray\n", "demo"),
    /outside a \/\/! block/,
    "text outside blocks",
  );
  // Every GEMM pass of conv.wgsl assembles from its template, the divmod snippet included.
  const tile = chooseTile(1000, 48);
  const wg = tileWidth(tile).wg;
  const defines = { ...tileDefines(tile), WG_X: wg, WG_Y: 1, WG_Z: 1, WG_SIZE: wg };
  for (const pass of ["forward", "gradInput", "gradWeight"]) {
    const code = kernelSource("conv", pass, defines);
    if (/\{\{/.test(code) || !code.includes("fn divmod4(") || !code.includes("Bs[t] = bQuad;")) {
      throw new Error(`conv.${pass} did not assemble from the gemm template`);
    }
  }
});

Deno.test("buffer buckets round up within 1/8 of an octave and never shrink", () => {
  for (const bytes of [1, 255, 256, 4097, 10_000, 1 << 20, 3_000_001]) {
    const b = bucketSize(bytes);
    if (b < bytes || (bytes > 4096 && b > bytes * 1.126)) {
      throw new Error(`bucket ${b} for ${bytes}`);
    }
  }
  assertEqual(bucketSize(5000), 5120, "5000 bytes");
});

Deno.test("dispatch grids split past 65,535 workgroups", () => {
  assertEqual(GpuRuntime.grid(10), [10, 1, 1], "small grid");
  const [x, y] = GpuRuntime.grid(200_000);
  if (x > 65535 || x * y < 200_000) throw new Error(`grid ${x}x${y}`);
});

Deno.test("views collapse to the fewest dims every operand walks contiguously", () => {
  const c = collapseViews([2, 3, 4, 5], [
    { shape: [2, 3, 4, 5], strides: [60, 20, 5, 1], offset: 0 },
    { shape: [2, 3, 4, 5], strides: [0, 1, 0, 0], offset: 0 },
  ]);
  assertEqual(c.shape, [2, 3, 20], "collapsed shape");
  assertEqual(c.views[1].strides, [0, 1, 0], "broadcast strides");
});

Deno.test("WebGPU: 2-D grids, batching and the pool's live bytes stay constant", async () => {
  const gpu = await gpuOrNull();
  if (!gpu) return;
  const rows = 70_000;
  const x = tensor(new Float32Array(rows * 4).fill(0.5), [rows, 4], { backend: gpu });
  const s = sum(x, [1]);
  const v = await s.data();
  assertClose([v[0], v[rows - 1]], [2, 2], "row sums past 65,535 workgroups");
  s.dispose();
  const big = tensor(new Float32Array(256 * 65_536 + 1000).fill(0), [256 * 65_536 + 1000], {
    backend: gpu,
  });
  const e = exp(big);
  const ev = await e.data();
  assertClose([ev[0], ev[ev.length - 1]], [1, 1], "unary over a 2-D grid");
  e.dispose();
  big.dispose();
  const before = gpu.memory().liveBytes;
  for (let i = 0; i < 600; i++) tidy(() => void exp(exp(x)));
  await gpu.read(x.storage);
  assertEqual(gpu.memory().liveBytes, before, "live bytes after 600 tidy steps");
  x.dispose();
});

Deno.test("WebGPU: a WGSL compile error surfaces at the next read, naming the kernel", async () => {
  const gpu = await gpuOrNull();
  if (!gpu) return;
  const { WebGpuBackend } = await import("../gpu/webgpu/backend.ts");
  const rt = (gpu as InstanceType<typeof WebGpuBackend>).rt;
  const x = rt.upload(new Float32Array([1, 2]));
  const y = rt.alloc(2, "f32");
  rt.run({
    family: "elementwise",
    entry: "unary",
    defines: { EXPR: "not_a_function(x)" },
    workgroupSize: [64, 1, 1],
    dispatch: [1, 1, 1],
    params: [{ u32: 2 }, { f32: 0 }],
    inputs: [x],
    outputs: [y],
  });
  let message = "";
  try {
    await rt.readMany([y]);
  } catch (err) {
    message = (err as Error).message;
  }
  rt.release(x);
  rt.release(y);
  if (!/elementwise\.wgsl kernel unary/.test(message)) {
    throw new Error(`expected a compile error naming the kernel, got "${message}"`);
  }
  await rt.checkErrors();
});
