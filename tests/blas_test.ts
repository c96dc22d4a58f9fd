/**
 * The system BLAS behind the WASM backend's GEMMs (gpu/wasm/blas.ts, ops/conv-blas.ts): how it
 * is found or refused, convolutions split into several blocks of images, and run-to-run
 * identity. The op tests (conv, matmul, bottleneck, wasm_kernels) already hold the BLAS paths to
 * the reference on every shape they try; this file covers what they cannot reach.
 */

import type { Backend, Conv2dParams } from "../gpu/backend.ts";
import { findBlas } from "../gpu/wasm/blas.ts";
import { DIRECT_POSITIONS } from "../gpu/wasm/ops/conv-blas.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { cpu, wasmBackend } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";
import { convParams } from "./support/conv-params.ts";
import { blas } from "./support/wasm-compare.ts";

/** Square input and kernel, padding k / 2, no dilation or groups. */
const conv = (n: number, c: number, size: number, o: number, k: number, stride: number) =>
  convParams(n, c, size, size, o, [k, k], [stride, Math.floor(k / 2), 1, 1]);

async function passes(b: Backend, q: Conv2dParams, seed: number): Promise<Float32Array[]> {
  const x = b.upload(randomValues(q.n * q.c * q.h * q.w, seed));
  const w = b.upload(randomValues(q.o * q.c * q.kh * q.kw, seed + 1));
  const gy = b.upload(randomValues(q.n * q.o * q.oh * q.ow, seed + 2));
  const outs = [b.conv2d(x, w, q), b.conv2dGradInput(gy, w, q), b.conv2dGradWeight(x, gy, q)];
  const values = (await b.readMany(outs)) as Float32Array[];
  for (const s of [x, w, gy, ...outs]) b.free(s);
  return values;
}

Deno.test("BLAS: SDU_BLAS=off declines; a wrong path or a library without a GEMM is an error", () => {
  const off = findBlas("off");
  assertEqual(off.path, null, "path with off");
  assertEqual(off.reason, "SDU_BLAS=off", "reason with off");
  assertThrows(
    () => findBlas("/no/such/dir/libopenblas.so"),
    /SDU_BLAS=\/no\/such\/dir\/libopenblas\.so: cannot load it/,
    "wrong path",
  );
  if (Deno.build.os === "linux") {
    assertThrows(
      () => findBlas("libm.so.6"),
      /SDU_BLAS=libm\.so\.6: it has no cblas_sgemm/,
      "a library without a GEMM",
    );
  }
  const found = findBlas();
  if (Deno.env.get("REQUIRE_BLAS") === "1" && !found.path) {
    throw new Error(`REQUIRE_BLAS=1 but no BLAS: ${found.reason}`);
  }
});

Deno.test("BLAS: without --allow-ffi the WASM backend keeps its own GEMM, without a prompt", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/probe.ts`;
    const backend = new URL("../gpu/wasm/backend.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `const { createWasmBackend } = await import(${JSON.stringify(backend)});\n` +
        "console.log((await createWasmBackend(1)).rt.blas.reason);\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", script],
      env: { SDU_BLAS: "" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEqual(out.code, 0, `exit code (stderr: ${err})`);
    assertEqual(
      new TextDecoder().decode(out.stdout).trim(),
      "no FFI permission (--allow-ffi)",
      "why",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "BLAS convolutions split into blocks of images match the reference",
  ignore: !blas,
  fn: async () => {
    const b = blas!;
    const rt = (b as unknown as { rt: { convColumnBytes: number } }).rt;
    const saved = rt.convColumnBytes;
    const cases: [string, Conv2dParams][] = [
      ["per-image GEMMs", conv(5, 3, 9, 6, 3, 1)],
      ["side by side", conv(12, 4, 5, 7, 3, 1)],
      ["7x7 stride 2", conv(8, 3, 13, 4, 7, 2)],
    ];
    const [direct, wide] = [cases[0][1], cases[1][1]];
    assertEqual(direct.oh * direct.ow >= DIRECT_POSITIONS, true, "first case runs in place");
    assertEqual(wide.oh * wide.ow < DIRECT_POSITIONS, true, "second case runs side by side");
    try {
      for (const [label, q] of cases) {
        // Bytes for one image: blocks are then as narrow as allowed (256 columns: 4 + 1
        // images of 81 positions, 11 + 1 of 25, 6 + 2 of 49), with a ragged last block.
        rt.convColumnBytes = q.c * q.kh * q.kw * q.oh * q.ow * 4;
        const want = await passes(cpu, q, 40);
        const got = await passes(b, q, 40);
        ["forward", "grad-input", "grad-weight"].forEach((pass, i) =>
          assertClose(got[i], want[i], `${label} ${pass}`, { rtol: 1e-4, atol: 1e-4 })
        );
      }
    } finally {
      rt.convColumnBytes = saved;
    }
  },
});

Deno.test({
  name: "BLAS results repeat bit for bit at a fixed thread count",
  ignore: !blas,
  fn: async () => {
    const b = await wasmBackend();
    const q = conv(16, 32, 16, 64, 3, 1);
    const first = await passes(b, q, 70);
    const second = await passes(b, q, 70);
    first.forEach((v, i) => assertEqual(Array.from(second[i]), Array.from(v), `pass ${i}`));
  },
});
