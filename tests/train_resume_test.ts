/**
 * --resume and failure: a run stopped after its first checkpoint and resumed gives the loss
 * sequence and the metrics of the run that was never stopped; resuming with options that change
 * the computation is refused naming them; a NaN loss stops training naming the step, the epoch
 * and the loss, and leaves the last checkpoint as it was, loadable.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveTrainArgv } from "../cli/train-invocation.ts";
import { selectBackend } from "../gpu/select.ts";
import { makeDebiasStep } from "../debias/train-step.ts";
import { RUN_FILES, runDirs } from "../experiments/run-layout.ts";
import { CHECKPOINT_FILE, loadTrainCheckpoint } from "../experiments/train-checkpoint.ts";
import { buildTrainData } from "../experiments/train-data.ts";
import { trainModel } from "../experiments/train-epochs.ts";
import { RunFiles } from "../experiments/train-files.ts";
import { buildTrainNetwork, disposeTrainNetwork } from "../experiments/train-network.ts";
import { readEpochs, TINY_SYNTH, tinyTrain } from "./support/tiny-train.ts";

const root = Deno.makeTempDirSync({ prefix: "sdu-train-resume-" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const ARGV = [...TINY_SYNTH, "--debias-config", "TABE", "--GRL", "--rulers", "--seed", "3"];
const with3 = (argv: string[]) => argv.map((a, i) => (argv[i - 1] === "--n-epochs" ? "3" : a));

Deno.test("--resume after the first checkpoint repeats the uninterrupted run exactly", async () => {
  const whole = await tinyTrain(root, "whole", with3(ARGV));
  // The "killed" run: one epoch done and checkpointed, then nothing more.
  await tinyTrain(root, "stopped", ARGV);
  const resumed = await tinyTrain(root, "stopped", [...with3(ARGV), "--resume"]);
  assert.ok(resumed.lines.some((l) => l.includes("resumed from") && l.includes("after epoch 1")));
  const losses = (run: typeof whole) => readEpochs(run.summary).map((r) => [r.epoch, r.loss]);
  assert.equal(losses(whole).length, 3);
  assert.deepEqual(losses(resumed), losses(whole));
  const metrics = (run: typeof whole) => {
    const m = JSON.parse(Deno.readTextFileSync(join(run.summary.dirs.run, RUN_FILES.metrics)));
    return m.sets;
  };
  assert.deepEqual(metrics(resumed), metrics(whole));
});

Deno.test("--resume refuses a checkpoint written with other options, naming them", async () => {
  await tinyTrain(root, "changed", ARGV);
  await assert.rejects(
    () => tinyTrain(root, "changed", [...ARGV, "--resume", "--lr-base", "0.1", "--alpha", "0.5"]),
    (err: Error) => {
      assert.match(err.message, /other options/);
      assert.match(err.message, /lrBase: checkpoint 0.0003, now 0.1/);
      assert.match(err.message, /alpha: checkpoint 0.03, now 0.5/);
      return true;
    },
  );
});

Deno.test("a NaN loss stops training naming step and epoch; the last checkpoint stays loadable", async () => {
  const config = await resolveTrainArgv([
    "--test-no",
    "nan",
    "--model-dir",
    join(root, "weights"),
    "--log-dir",
    join(root, "logs"),
    "--plot-dir",
    join(root, "plots"),
    ...ARGV,
  ]);
  const o = config.options;
  const { backend } = await selectBackend("cpu");
  const data = await buildTrainData(o);
  const dirs = runDirs(o, o.testNo);
  const files = new RunFiles(dirs);
  files.prepare();
  const context = {
    options: o,
    backend,
    train: data.train,
    val: data.val,
    augment: data.augment,
    weightsDir: dirs.weights,
    tag: "nan",
    files,
    earlierRecords: [],
    log: () => {},
  };
  disposeTrainNetwork((await trainModel(context)).net);
  const checkpoint = join(dirs.weights, CHECKPOINT_FILE);
  const before = Deno.readFileSync(checkpoint);

  data.train.target.fill(NaN);
  await assert.rejects(
    () => trainModel({ ...context, options: { ...o, nEpochs: 2, resume: true } }),
    (err: Error) => {
      assert.match(err.message, /training stopped in epoch 2/);
      assert.match(err.message, /step 1 of epoch 2: (main )?loss became NaN/);
      assert.match(err.message, /last good checkpoint is .*checkpoint\.safetensors \(epoch 1\)/);
      return true;
    },
  );
  assert.deepEqual(Deno.readFileSync(checkpoint), before, "the checkpoint was not touched");
  assert.match(Deno.readTextFileSync(join(dirs.run, RUN_FILES.log)), /training stopped/);

  const net = await buildTrainNetwork(o, data.train.bias, backend);
  try {
    const { optimisers } = makeDebiasStep(net, net.settings);
    const info = await loadTrainCheckpoint(checkpoint, net, optimisers);
    assert.equal(info.progress.epoch, 1);
    const weight = await net.encoder.parameters()[0].data();
    assert.ok(weight.every(Number.isFinite));
  } finally {
    disposeTrainNetwork(net);
  }
});
