import * as layout from "../nn/ops/layout.ts";
import * as reduce from "../nn/ops/reduce.ts";
import { tensor } from "../nn/tensor.ts";
import type { Tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, comparedBackends, cpu } from "./support/backends.ts";
import { compareBackends, gradCheck, type InputSpec } from "./support/gradcheck.ts";

const cases: [string, (...x: Tensor[]) => Tensor, InputSpec[]][] = [
  ["reshape", (x) => layout.reshape(x, [5, -1]), [{ shape: [3, 5, 2] }]],
  ["permute", (x) => layout.permute(x, [2, 0, 1]), [{ shape: [3, 5, 2] }]],
  ["transpose", (x) => layout.transpose(x), [{ shape: [4, 3, 7] }]],
  ["broadcastTo", (x) => layout.broadcastTo(x, [2, 3, 5]), [{ shape: [3, 1] }]],
  ["flip", (x) => layout.flip(x, [0, 2]), [{ shape: [3, 4, 5] }]],
  ["slice", (x) => layout.slice(x, 1, 1, 4), [{ shape: [2, 5, 3] }]],
  [
    "concat",
    (a, b, c) => layout.concat([a, b, c], 1),
    [{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }],
  ],
  ["sum all", (x) => reduce.sum(x), [{ shape: [3, 5, 7] }]],
  ["sum axes 0,2", (x) => reduce.sum(x, [0, 2]), [{ shape: [3, 5, 7] }]],
  ["sum large", (x) => reduce.sum(x, [0, 2, 3], true), [{ shape: [3, 2, 13, 11] }]],
  ["mean last", (x) => reduce.mean(x, -1, true), [{ shape: [4, 9] }]],
  ["max axis 1", (x) => reduce.max(x, 1), [{ shape: [3, 6, 2] }]],
  ["min all", (x) => reduce.min(x), [{ shape: [5, 3] }]],
];

Deno.test("layout and reduction ops: finite differences and reference vs WASM (default and split) and WebGPU", async () => {
  const fast = await comparedBackends();
  for (const [name, fn, specs] of cases) {
    await gradCheck(name, cpu, fn, specs);
    await compareBackends(name, cpu, fast, fn, specs, { rtol: 1e-5 });
  }
});

Deno.test("layout ops give the values numpy would", async () => {
  for (const backend of await allBackends()) {
    const x = tensor([0, 1, 2, 3, 4, 5], [2, 3], { backend });
    assertEqual([...await layout.transpose(x).data()], [0, 3, 1, 4, 2, 5], "transpose");
    assertEqual([...await layout.flip(x, [1]).data()], [2, 1, 0, 5, 4, 3], "flip");
    assertEqual([...await layout.slice(x, 1, 1, 3).data()], [1, 2, 4, 5], "slice");
    const c = layout.concat([x, tensor([9, 9], [2, 1], { backend })], 1);
    assertEqual([...await c.data()], [0, 1, 2, 9, 3, 4, 5, 9], "concat");
    assertClose(await reduce.sum(x, 0).data(), [3, 5, 7], "sum axis 0");
    assertClose(await reduce.max(x, 1).data(), [2, 5], "max axis 1");
    assertThrows(() => layout.reshape(x, [4, 2]), /cannot reshape \[2,3\]/, "bad reshape");
    assertThrows(
      () => layout.concat([x, tensor([1, 2], [1, 2], { backend })], 0),
      /differ/,
      "concat",
    );
  }
});

Deno.test("reductions of large extents use the workgroup path and stay exact", async () => {
  const n = 100_003;
  const values = new Float32Array(n).map((_, i) => (i % 7) - 3);
  let expected = 0;
  for (const v of values) expected += v;
  for (const backend of await allBackends()) {
    const s = await reduce.sum(tensor(values, [n], { backend })).item();
    assertClose([s], [expected], `sum of ${n} on ${backend.name}`);
  }
});
