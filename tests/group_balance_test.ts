import { ArrayDataset } from "../data/dataset.ts";
import { groupBalancedWeights } from "../data/group-balance.ts";
import { DataLoader } from "../data/loader.ts";
import { runSynth } from "../experiments/synth.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { tinySynthOptions } from "./support/tiny-synth.ts";

/** 100 samples: label = i < 50; bias agrees with the label except for samples 0-4 and 95-99. */
function skewed() {
  const n = 100;
  const target = Float32Array.from({ length: n }, (_, i) => (i < 50 ? 1 : 0));
  const marked = Int32Array.from(
    { length: n },
    (_, i) => (i < 5 || i >= 95 ? 1 - target[i] : target[i]),
  );
  return { n, target, marked };
}

Deno.test("group-balanced weights: 1 / group size, so each (label, bias) group weighs the same", () => {
  const { target, marked } = skewed();
  const { weights, groups } = groupBalancedWeights(target, { marked });
  assertEqual(
    [...groups.entries()].sort().join(" "),
    "0/0,45 0/1,5 1/0,5 1/1,45",
    "group sizes",
  );
  assertClose(
    [weights[0], weights[10], weights[60], weights[97]],
    [1 / 5, 1 / 45, 1 / 45, 1 / 5],
    "w",
  );
  assertThrows(
    () => groupBalancedWeights(target, { marked: marked.slice(1) }),
    /"marked" has 99 of 100/,
    "short column",
  );
});

Deno.test("weighted loader: draws follow the weights, repeat per seed and epoch, bad weights named", async () => {
  const { n, target, marked } = skewed();
  const dataset = new ArrayDataset({
    images: new Float32Array(n),
    shape: [n, 1, 1, 1],
    target,
    bias: { marked },
  });
  const { weights } = groupBalancedWeights(target, { marked });
  const loader = new DataLoader(dataset, { batchSize: 10, seed: 3, sampleWeights: weights });
  const counts = new Map<string, number>();
  let draws = 0;
  for (let epoch = 0; epoch < 40; epoch++) {
    for (const i of loader.plan(epoch).order) {
      const key = `${target[i]}/${marked[i]}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      draws++;
    }
  }
  // 4,000 draws, 1,000 expected per group (sd ~27): the rare groups are drawn as often as the rest.
  for (const [key, c] of counts) {
    if (Math.abs(c / draws - 0.25) > 0.04) throw new Error(`group ${key} drawn ${c} of ${draws}`);
  }
  assertEqual(counts.size, 4, "every group drawn");
  assertEqual(loader.plan(7).order.join(), loader.plan(7).order.join(), "same epoch, same draws");
  if (loader.plan(7).order.join() === loader.plan(8).order.join()) throw new Error("epochs alike");
  let seen = 0;
  for await (const b of loader) seen += b.shape[0];
  assertEqual(seen, n, "an epoch has the dataset's length");
  const zeroSome = Float64Array.from(weights, (w, i) => (i < 50 ? 0 : w));
  for (
    const i of new DataLoader(dataset, { batchSize: 5, sampleWeights: zeroSome }).plan(0).order
  ) {
    if (i < 50) throw new Error(`drew sample ${i} of weight 0`);
  }
  const bad = Float64Array.from(weights);
  bad[17] = NaN;
  assertThrows(
    () => new DataLoader(dataset, { batchSize: 5, sampleWeights: bad }),
    /sample weight 17 is NaN/,
    "NaN weight",
  );
  assertThrows(
    () => new DataLoader(dataset, { batchSize: 5, sampleWeights: new Float64Array(n) }),
    /every sample weight is 0/,
    "all zero",
  );
  assertThrows(
    () => new DataLoader(dataset, { batchSize: 5, sampleWeights: [1, 2] }),
    /2 sample weights for a dataset of 100/,
    "length",
  );
});

Deno.test("synth --balance-groups names the groups a perfect correlation leaves empty", async () => {
  const o = tinySynthOptions({
    correlation: "1",
    balanceGroups: true,
    backend: "cpu-reference",
    outDir: Deno.makeTempDirSync(),
  });
  let message = "";
  try {
    await runSynth(o, () => {});
  } catch (e) {
    message = (e as Error).message;
  } finally {
    Deno.removeSync(o.outDir, { recursive: true });
  }
  if (!/2 \(malignancy, scale\) group\(s\) have no training lesion/.test(message)) {
    throw new Error(`expected the empty-group error, got "${message}"`);
  }
});
