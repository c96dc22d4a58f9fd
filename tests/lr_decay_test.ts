/**
 * The cosine learning-rate decay: its curve, the step wrapper that applies it (continuing the
 * curve after a resume from the fresh optimisers' rates), and train's refusal to resume a cosine
 * run with another length, since the curve spans the run.
 */

import assert from "node:assert/strict";
import { decayedStep, lrDecayFactor } from "../nn/optim/lr-decay.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { zeros } from "../nn/tensor.ts";
import { resumeConflicts } from "../experiments/train-epochs.ts";
import { resolveTrainArgv } from "../cli/train-invocation.ts";

Deno.test("the cosine factor runs from 1 down towards 0; constant stays at 1", () => {
  assert.equal(lrDecayFactor("cosine", 0, 10), 1);
  assert.ok(Math.abs(lrDecayFactor("cosine", 5, 10) - 0.5) < 1e-12);
  assert.ok(Math.abs(lrDecayFactor("cosine", 9, 10) - 0.5 * (1 + Math.cos(0.9 * Math.PI))) < 1e-12);
  assert.equal(lrDecayFactor("cosine", 10, 10), 0);
  for (let i = 1; i < 10; i++) {
    assert.ok(lrDecayFactor("cosine", i, 10) < lrDecayFactor("cosine", i - 1, 10));
  }
  assert.equal(lrDecayFactor("constant", 7, 10), 1);
});

Deno.test("decayedStep sets every optimiser's lr before each step and resumes the curve", () => {
  const a = new SGD([zeros([2])], { lr: 0.1 });
  const b = new SGD([zeros([2])], { lr: 0.01 });
  const seen: number[][] = [];
  const step = decayedStep((tag: string) => seen.push([a.lr, b.lr]) && tag, [a, b], {
    decay: "cosine",
    totalSteps: 4,
  });
  for (let i = 0; i < 4; i++) step("x");
  const want = [0, 1, 2, 3].map((i) => lrDecayFactor("cosine", i, 4));
  seen.forEach(([la, lb], i) => {
    assert.ok(Math.abs(la - 0.1 * want[i]) < 1e-15);
    assert.ok(Math.abs(lb - 0.01 * want[i]) < 1e-15);
  });
  // A resumed run: the restored optimiser holds a decayed rate; the fresh one's is the base.
  const restored = new SGD([zeros([2])], { lr: 0.1 * want[2] });
  const rates: number[] = [];
  const resumed = decayedStep(() => rates.push(restored.lr), [restored], {
    decay: "cosine",
    totalSteps: 4,
    firstStep: 2,
    baseLrs: [0.1],
  });
  resumed();
  resumed();
  assert.deepEqual(rates, [0.1 * want[2], 0.1 * want[3]]);
  assert.throws(
    () => decayedStep(() => 0, [a, b], { decay: "cosine", totalSteps: 4, baseLrs: [1] }),
    /1 base rates for 2 optimisers/,
  );
  for (const p of [a, b, restored]) p.dispose();
});

Deno.test("resuming a cosine run needs the same --n-epochs; older checkpoints were constant", async () => {
  const base = ["--test-no", "90", "--dataset", "synth", "--n-epochs", "3"];
  const cosine = (await resolveTrainArgv([...base, "--lr-decay", "cosine"])).options;
  const longer = { ...cosine, nEpochs: 5 };
  assert.deepEqual(resumeConflicts({ ...cosine }, cosine), []);
  assert.deepEqual(resumeConflicts({ ...cosine }, longer), ["nEpochs: checkpoint 3, now 5"]);
  const constant = (await resolveTrainArgv(base)).options;
  assert.deepEqual(resumeConflicts({ ...constant, nEpochs: 1 }, constant), []);
  const { lrDecay: _, ...older } = constant;
  assert.deepEqual(resumeConflicts(older, constant), []);
  assert.deepEqual(resumeConflicts(older, cosine), [
    `lrDecay: checkpoint "constant", now "cosine"`,
  ]);
});
