import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { matmul } from "../nn/ops/matmul.ts";
import { relu } from "../nn/ops/elementwise.ts";
import { randn } from "../nn/ops/random.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { gpuOrNull } from "./support/backends.ts";

Deno.test("GPU profile: every dispatch is timed under its kernel's name; results unchanged", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const rt = gpu.rt;
  if (!rt.device.features.has("timestamp-query")) {
    console.warn("GPU profile test skipped: the adapter offers no timestamp-query");
    return;
  }
  const a = randn([64, 48], 1, { backend: gpu });
  const b = randn([48, 40], 2, { backend: gpu });
  const run = () => relu(relu(matmul(a, b)));
  const plain = run();
  const expected = await plain.data();
  await rt.startProfile();
  const profiled = run();
  const got = await profiled.data();
  const times = await rt.stopProfile();
  assertClose(got, expected, "profiled result", { atol: 0, rtol: 0 });
  const byKernel = new Map(times.map((t) => [t.kernel, t]));
  assertEqual(byKernel.get("elementwise.unary")?.calls, 2, "two relu dispatches");
  assertEqual(byKernel.get("matmul.tiled")?.calls, 1, "one matmul dispatch");
  for (const t of times) {
    if (!(t.seconds > 0 && t.seconds < 10)) throw new Error(`${t.kernel}: ${t.seconds} s`);
  }
  const sorted = times.every((t, i) => i === 0 || times[i - 1].seconds >= t.seconds);
  assertEqual(sorted, true, "longest first");
  // a dispatch after the profile is not counted in a later one
  const after = run();
  await after.data();
  await rt.startProfile();
  assertEqual((await rt.stopProfile()).length, 0, "an empty profile");
  for (const t of [a, b, plain, profiled, after]) t.dispose();
});

Deno.test("GPU profile: misuse is named", async () => {
  const gpu = await gpuOrNull();
  if (!(gpu instanceof WebGpuBackend)) return;
  const rt = gpu.rt;
  await rt.stopProfile().then(
    () => {
      throw new Error("stopProfile without a profile resolved");
    },
    (err) => assertEqual(/no GPU profile is running/.test(err.message), true, err.message),
  );
  if (!rt.device.features.has("timestamp-query")) return;
  await rt.startProfile();
  await rt.startProfile().then(
    () => {
      throw new Error("a second startProfile resolved");
    },
    (err) => assertEqual(/already running/.test(err.message), true, err.message),
  );
  await rt.stopProfile();
});
