import { dropout, rand, randn } from "../nn/ops/random.ts";
import { tensor } from "../nn/tensor.ts";
import { assertClose } from "./support/assert.ts";
import { acceleratedBackends, allBackends, cpu } from "./support/backends.ts";
import { gradCheck } from "./support/gradcheck.ts";

Deno.test("random streams are identical on every backend and have the right moments", async () => {
  const n = 20_000;
  const u = await rand([n], 1234, { backend: cpu }).data();
  const z = await randn([n], 99, { backend: cpu }).data();
  let mean = 0, sq = 0, zm = 0, zs = 0;
  for (let i = 0; i < n; i++) {
    mean += u[i] / n;
    sq += u[i] * u[i] / n;
    zm += z[i] / n;
    zs += z[i] * z[i] / n;
  }
  assertClose([mean, sq - mean * mean], [0.5, 1 / 12], "uniform moments", { atol: 0.01 });
  assertClose([zm, zs], [0, 1], "normal moments", { atol: 0.03 });
  for (const backend of await acceleratedBackends()) {
    const at = `${backend.name} vs ${cpu.name}`;
    assertClose(await rand([n], 1234, { backend }).data(), u, `uniform ${at}`, { atol: 0 });
    // f32 cos near its zeros amplifies the GPU's rounding of 2*pi*u: 1e-4 absolute.
    assertClose(await randn([n], 99, { backend }).data(), z, `normal ${at}`, {
      atol: 1e-4,
      rtol: 1e-5,
    });
  }
});

Deno.test("dropout keeps 1-p of the elements, scales them, and back-propagates through the mask", async () => {
  for (const backend of await allBackends()) {
    const x = tensor(new Float32Array(10_000).fill(1), [100, 100], { backend });
    const y = await dropout(x, 0.3, true, 7).data();
    const kept = y.filter((v) => v !== 0);
    assertClose([kept.length / y.length], [0.7], `kept fraction on ${backend.name}`, {
      atol: 0.02,
    });
    assertClose([kept[0]], [1 / 0.7], "survivor scale", { rtol: 1e-6 });
    const evalOut = await dropout(x, 0.3, false).data();
    assertClose(evalOut, new Float32Array(10_000).fill(1), "eval mode is identity");
    await gradCheck("dropout", backend, (t) => dropout(t, 0.5, true, 3), [{ shape: [4, 6] }]);
  }
});
