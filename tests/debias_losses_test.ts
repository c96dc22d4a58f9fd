import { backward } from "../nn/autograd.ts";
import { gradReverse, mul } from "../nn/ops/elementwise.ts";
import { rand } from "../nn/ops/random.ts";
import { sum } from "../nn/ops/reduce.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import {
  auxiliaryLoss,
  inverseFrequencyWeights,
  lntlEntropyLoss,
  tabeConfusionLoss,
} from "../debias/losses.ts";
import { resolveDebias } from "../debias/config.ts";
import { allBackends } from "./support/backends.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { gradCheck } from "./support/gradcheck.ts";

/** Two rows: p = [1/2, 1/2] and p = [3/4, 1/4] (logits [0, 0] and [ln 3, 0]). */
const LOGITS = [0, 0, Math.log(3), 0];
const P = [[0.5, 0.5], [0.75, 0.25]];

Deno.test("LNTL term is lambda x mean over rows of sum p log p", async () => {
  const expected = 0.01 *
    (P[0].reduce((a, p) => a + p * Math.log(p), 0) +
      P[1].reduce((a, p) => a + p * Math.log(p), 0)) /
    2;
  // -0.01 * (ln 2 + 0.5623...) / 2
  assertClose([expected], [-0.01 * (Math.log(2) + 0.5623351446188083) / 2], "hand value");
  for (const backend of await allBackends()) {
    const v = await tidy(() => lntlEntropyLoss(tensor(LOGITS, [2, 2], { backend }), 0.01)).data();
    assertClose(v, [expected], `LNTL term [${backend.name}]`);
    // d/dz_k of mean sum p log p = p_k (log p_k - sum_j p_j log p_j) / rows.
    const z = tensor(LOGITS, [2, 2], { backend, requiresGrad: true });
    backward(lntlEntropyLoss(z, 1));
    const want = P.flatMap((row) => {
      const h = row.reduce((a, p) => a + p * Math.log(p), 0);
      return row.map((p) => (p * (Math.log(p) - h)) / 2);
    });
    assertClose(await z.grad!.data(), want, `LNTL gradient [${backend.name}]`);
  }
});

Deno.test("TABE confusion: uniform-target is -alpha sum(log p / K) / batch", async () => {
  const expected = (-0.03 * (0.5 * (Math.log(0.5) * 2) + 0.5 * (Math.log(0.75) + Math.log(0.25)))) /
    2;
  for (const backend of await allBackends()) {
    const v = await tidy(() =>
      tabeConfusionLoss(tensor(LOGITS, [2, 2], { backend }), 0.03, "uniform-target")
    ).data();
    assertClose(v, [expected], `uniform target [${backend.name}]`);
  }
});

Deno.test("TABE confusion: uniform-random draws u ~ U(0,1) per element, fresh each call", async () => {
  for (const backend of await allBackends()) {
    const seed = 1234;
    const u = await rand([2, 2], seed, { backend }).data();
    for (const x of u) if (!(x >= 0 && x < 1)) throw new Error(`u = ${x} outside [0, 1)`);
    const logP = P.flat().map(Math.log);
    const expected = (-0.03 * logP.reduce((a, l, i) => a + u[i] * l, 0)) / 2;
    const logits = tensor(LOGITS, [2, 2], { backend });
    const v = await tabeConfusionLoss(logits, 0.03, "uniform-random", seed).data();
    assertClose(v, [expected], `seeded confusion [${backend.name}]`);
    const a = await tabeConfusionLoss(logits, 0.03).data();
    const b = await tabeConfusionLoss(logits, 0.03).data();
    if (a[0] === b[0]) throw new Error("two unseeded confusion losses drew the same u");
  }
});

Deno.test("class weights follow the study's normalised inverse class frequency", () => {
  // Study: freq% = [60, 30, 10] -> /sum -> 1/w = [5/3, 10/3, 10] -> /15.
  const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 2]);
  assertClose(inverseFrequencyWeights(labels, 3), [1 / 9, 2 / 9, 6 / 9], "3 classes", {
    rtol: 1e-6,
  });
  // Eight instrument classes with counts 1..8: weights proportional to 1/count.
  const counts = [1, 2, 3, 4, 5, 6, 7, 8];
  const inst = Int32Array.from(counts.flatMap((c, k) => Array(c).fill(k)));
  const h = counts.reduce((a, c) => a + 1 / c, 0);
  assertClose(inverseFrequencyWeights(inst, 8), counts.map((c) => 1 / c / h), "instrument", {
    rtol: 1e-6,
  });
  // A class absent from training gets weight 0; the others keep their ratio.
  assertClose(inverseFrequencyWeights(Int32Array.from([0, 0, 2]), 3), [1 / 3, 0, 2 / 3], "absent");
  assertThrows(() => inverseFrequencyWeights(Int32Array.from([0, 2]), 2), /--num-aux/, "range");
});

Deno.test("aux cross-entropy is PyTorch's weighted mean", async () => {
  const weights = Float32Array.from([0.25, 0.75]);
  const labels = [1, 0];
  const nll = [-Math.log(0.5), -Math.log(0.75)];
  const expected = (0.75 * nll[0] + 0.25 * nll[1]) / (0.75 + 0.25);
  for (const backend of await allBackends()) {
    const z = tensor(LOGITS, [2, 2], { backend });
    const y = tensor(Int32Array.from(labels), [2], { backend });
    assertClose(
      await auxiliaryLoss(z, y, weights).data(),
      [expected],
      `weighted [${backend.name}]`,
    );
    const w = tensor(weights, [2], { backend });
    assertClose(await auxiliaryLoss(z, y, w).data(), [expected], `device weights`);
    assertClose(await auxiliaryLoss(z, y, null).data(), [(nll[0] + nll[1]) / 2], "unweighted");
  }
});

Deno.test("losses: finite-difference gradients", async () => {
  for (const backend of await allBackends()) {
    await gradCheck("LNTL", backend, (z) => lntlEntropyLoss(z, 0.5), [{ shape: [3, 4] }]);
    await gradCheck(
      "TABE",
      backend,
      (z) => tabeConfusionLoss(z, 0.3, "uniform-random", 77),
      [{ shape: [3, 4] }],
    );
  }
});

Deno.test("GRL scale 0.1 flips and scales the gradient", async () => {
  for (const backend of await allBackends()) {
    const x = tensor([1, -2, 3], [3], { backend, requiresGrad: true });
    const c = tensor([2, 5, -1], [3], { backend });
    backward(sum(mul(gradReverse(x, 0.1), c)));
    assertClose(await x.grad!.data(), [-0.2, -0.5, 0.1], `GRL [${backend.name}]`);
  }
  assertEqual(resolveDebias({ debiasConfig: "TABE", GRL: true }).grlScale, 0.1, "default scale");
  assertEqual(
    resolveDebias({ debiasConfig: "TABE", GRL: true, grlScale: 0.5 }).grlScale,
    0.5,
    "configurable scale",
  );
});
