/**
 * The proof that the engine learns: the small CNN trained on 2,000 MNIST digits must classify
 * 1,000 held-out test digits with >= 95 % accuracy, on the WASM SIMD backend and on WebGPU (Mesa's
 * software adapter in CI). Fixed seed, so a pass is reproducible, not lucky. The TypeScript
 * reference backend is left out because it is too slow for CI; it is held to the accelerated
 * paths kernel by kernel (outputs and gradients) by the op tests, so it learns what they learn.
 * The backends train concurrently: the WASM backend computes on its threads while the software
 * adapter's threads run the queued WebGPU work.
 */

import type { Backend } from "../gpu/backend.ts";
import { runMnistDemo } from "../experiments/mnist-demo.ts";
import { acceleratedBackends } from "./support/backends.ts";

async function learn(backend: Backend): Promise<string> {
  const lines: string[] = [];
  const r = await runMnistDemo({
    backend,
    trainSize: 2000,
    testSize: 1000,
    epochs: 3,
    batchSize: 20,
    lr: 5e-3,
    seed: 1,
    log: (l) => lines.push(l),
  });
  const summary = `${backend.name}: ${(r.accuracy * 100).toFixed(1)} % in ${
    r.seconds.toFixed(1)
  } s`;
  if (r.accuracy < 0.95) throw new Error(`${summary}, below 95 %\n${lines.join("\n")}`);
  const [first, last] = [r.epochLosses[0], r.epochLosses[r.epochLosses.length - 1]];
  if (!(last < first / 3)) throw new Error(`${summary}: loss fell only from ${first} to ${last}`);
  return summary;
}

Deno.test("small CNN learns MNIST to >= 95 % on the WASM and WebGPU backends", async () => {
  const backends = await acceleratedBackends();
  const results = await Promise.allSettled(backends.map(learn));
  const failures = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
  for (const r of results) if (r.status === "fulfilled") console.log(`  ${r.value}`);
  if (failures.length) throw new Error(failures.join("\n"));
});
