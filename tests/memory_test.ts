/**
 * Training runs in constant memory: after the first step (which creates gradients and optimiser
 * state), 50 steps of the small CNN through the real train loop leave the backend's live bytes
 * and live buffer count exactly where they were, on every backend. A leaked intermediate of even
 * one step would show here.
 */

import { smallCnn } from "../nn/models/small-cnn.ts";
import { crossEntropy } from "../nn/ops/loss.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { manualSeed } from "../nn/random.ts";
import { tensor } from "../nn/tensor.ts";
import { trainEpoch } from "../experiments/train-loop.ts";
import { assertEqual } from "./support/assert.ts";
import { allBackends } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";

const STEPS = 50;
const BATCH = 4;

Deno.test("50 training steps of the small CNN run in constant memory", async () => {
  for (const backend of await allBackends()) {
    manualSeed(11);
    const start = backend.memory();
    const model = smallCnn({ backend });
    const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    const images = randomValues(BATCH * 3 * 28 * 28, 3);
    const samples: { live: number; buffers: number }[] = [];
    const batches = function* () {
      for (let s = 0; s < STEPS; s++) {
        const m = backend.memory();
        samples.push({ live: m.liveBytes, buffers: m.liveBuffers });
        yield Int32Array.from({ length: BATCH }, (_, i) => (s + i) % 10);
      }
      const m = backend.memory();
      samples.push({ live: m.liveBytes, buffers: m.liveBuffers });
    };
    const result = await trainEpoch({
      model,
      optimizer,
      batches: batches(),
      readEvery: 1,
      loss: (labels) =>
        crossEntropy(
          model.forward(tensor(images, [BATCH, 3, 28, 28], { backend })),
          tensor(labels, [BATCH], { backend }),
        ),
    });
    assertEqual(result.steps, STEPS, `${backend.name} steps`);
    // samples[k] is taken after k steps; from step 1 on nothing may grow.
    const after1 = samples[1];
    samples.slice(1).forEach((s, k) => {
      if (s.live !== after1.live || s.buffers !== after1.buffers) {
        throw new Error(
          `${backend.name}: after ${k + 1} steps ${s.live} live bytes in ${s.buffers} buffers, ` +
            `after 1 step ${after1.live} in ${after1.buffers}`,
        );
      }
    });
    if (!(samples[1].live > samples[0].live)) {
      throw new Error(`${backend.name}: step 1 should add gradients and momentum buffers`);
    }
    optimizer.dispose();
    model.dispose();
    const end = backend.memory();
    assertEqual(end.liveBytes, start.liveBytes, `${backend.name} live bytes after dispose`);
  }
});
