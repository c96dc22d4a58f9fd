/**
 * Nothing silently wrong in training: a NaN input is refused by the loader naming the image, a
 * NaN parameter or gradient stops training naming it with the step and the epoch, and a run
 * that diverged (a huge but finite loss) or scores every test image alike fails instead of
 * writing a normal-looking table.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Image } from "imagescript";
import type { Batch } from "../data/batch.ts";
import { ArrayDataset, FileDataset } from "../data/dataset.ts";
import { DataLoader } from "../data/loader.ts";
import { runDebiasEpoch } from "../debias/run-epoch.ts";
import { denseView } from "../gpu/backend.ts";
import { runSynth } from "../experiments/synth.ts";
import { assertLossBounded, assertScoresVary, FailedRunError } from "../experiments/run-health.ts";
import { trainEpoch } from "../experiments/train-loop.ts";
import { assertFiniteParameters, NonFiniteError } from "../nn/finite-check.ts";
import { Linear } from "../nn/layers/linear.ts";
import { Layer } from "../nn/module.ts";
import { square, sub } from "../nn/ops/elementwise.ts";
import { mean } from "../nn/ops/reduce.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { type Tensor, tensor, zeros } from "../nn/tensor.ts";
import { assertEqual } from "./support/assert.ts";
import { cpu } from "./support/backends.ts";
import { tinySynthOptions } from "./support/tiny-synth.ts";

async function rejects(p: Promise<unknown>, pattern: RegExp, label: string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    const e = err as Error;
    if (!pattern.test(e.message)) {
      throw new Error(`${label}: threw "${e.message}", expected it to match ${pattern}`);
    }
    return e;
  }
  throw new Error(`${label}: did not throw`);
}

/** Overwrites a tensor's values in place (what a corrupted update would leave). */
function poison(t: Tensor, index: number, value: number): void {
  const values = new Float32Array(t.size);
  values[index] = value;
  const src = t.backend.upload(values);
  t.backend.copyInto(src, t.storage, denseView(t.shape));
  t.backend.free(src);
}

/** A regression layer with a parameter the loss never uses (so only the check can see it). */
class Probe extends Layer {
  readonly fc: Linear;
  readonly unused: Tensor;
  constructor() {
    super(cpu);
    this.fc = this.addModule("fc", new Linear(2, 1, { backend: cpu }));
    this.unused = this.addParameter("unused", zeros([3], { backend: cpu }));
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(x);
  }
}

Deno.test("assertFiniteParameters names the first NaN or infinite parameter or gradient", async () => {
  const a = tensor(new Float32Array([1, 2, 3]), [3], { backend: cpu });
  const b = tensor(new Float32Array([4, 5]), [2], { backend: cpu });
  const named: [string, Tensor][] = [["layer.a", a], ["layer.b", b]];
  await assertFiniteParameters(named, { step: 1, epoch: 1 });
  b.grad = tensor(new Float32Array([0, -Infinity]), [2], { backend: cpu });
  const e = await rejects(
    assertFiniteParameters(named, { step: 7, epoch: 3 }),
    /step 7 of epoch 3: gradient of "layer\.b" became -Infinity \(element 1 of \[2\]\)/,
    "infinite gradient",
  );
  if (!(e instanceof NonFiniteError)) throw new Error("not a NonFiniteError");
  poison(a, 2, NaN);
  await rejects(
    assertFiniteParameters(named, { step: 8, epoch: 3 }),
    /parameter "layer\.a" became NaN \(element 2/,
    "NaN parameter comes first",
  );
  // Huge but finite values overflow the sum; the exact scan clears them.
  const huge = tensor(new Float32Array([3e38, 3e38]), [2], { backend: cpu });
  await assertFiniteParameters([["huge", huge]], { step: 1, epoch: 1 });
  for (const t of [a, b, b.grad, huge]) t.dispose();
});

Deno.test("trainEpoch stops at the read-back after a parameter went NaN, naming it", async () => {
  const model = new Probe();
  const opt = new SGD(model.parameters(), { lr: 0.01 });
  const x = tensor(new Float32Array([1, 2, 3, 4]), [2, 2], { backend: cpu });
  const y = tensor(new Float32Array([1, 0]), [2, 1], { backend: cpu });
  const batches = Array.from({ length: 9 }, () => 0);
  await rejects(
    trainEpoch({
      model,
      optimizer: opt,
      batches,
      epoch: 2,
      readEvery: 3,
      loss: () => mean(square(sub(model.forward(x), y))),
      beforeStep: (i) => i === 4 && poison(model.unused, 1, NaN),
    }),
    /training stopped at step 6 of epoch 2: parameter "unused" became NaN/,
    "NaN in an unused parameter",
  );
  await rejects(
    trainEpoch({
      model: new Probe(),
      optimizer: opt,
      batches,
      epoch: 4,
      readEvery: 4,
      loss: (_b) =>
        mean(
          square(
            sub(model.forward(x), tensor(new Float32Array([NaN, 0]), [2, 1], { backend: cpu })),
          ),
        ),
    }),
    /training diverged at step 1 of epoch 4: the loss became NaN/,
    "NaN loss names the first bad step",
  );
  for (const t of [x, y]) t.dispose();
  opt.dispose();
  model.dispose();
});

function debiasBatch(): Batch {
  return {
    images: new Float32Array(8),
    shape: [2, 4, 1, 1],
    target: new Float32Array([0, 1]),
    labels: new Int32Array([0, 1]),
    bias: {},
    indices: new Int32Array([0, 1]),
  };
}

Deno.test("runDebiasEpoch checks the network's tensors at each loss read-back", async () => {
  const w = tensor(new Float32Array([1, 1]), [2], { backend: cpu });
  let steps = 0;
  const step = () => {
    steps++;
    if (steps === 5) poison(w, 0, Infinity);
    const one = tensor(new Float32Array([steps === 9 ? NaN : 0.5]), [], { backend: cpu });
    return { total: one, main: one.detach(), aux: [] };
  };
  const run = (epoch: number) =>
    runDebiasEpoch({
      step,
      heads: [],
      backend: cpu,
      batches: Array.from({ length: 6 }, debiasBatch),
      readEvery: 2,
      epoch,
      parameters: [["encoder.w", w]],
    });
  await rejects(
    run(3),
    /training stopped at step 6 of epoch 3: parameter "encoder\.w" became Infinity/,
    "infinite parameter",
  );
  poison(w, 0, 1);
  await rejects(run(4), /training diverged at step 3 of epoch 4: loss became NaN/, "NaN loss");
  w.dispose();
});

Deno.test("the loader refuses a NaN pixel, naming the sample or the image file and the pixel", async () => {
  const images = new Float32Array(6 * 2 * 3 * 3).fill(0.5);
  images[4 * 18 + 9 + 5] = NaN; // sample 4, channel 1, row 1, column 2
  const ds = new ArrayDataset({ images, shape: [6, 2, 3, 3], target: new Float32Array(6) });
  using loader = new DataLoader(ds, { batchSize: 3, shuffle: false });
  const epoch = async () => {
    for await (const _ of loader.epoch(0)) { /* consume */ }
  };
  await rejects(
    epoch(),
    /sample 4 of the dataset holds NaN at channel 1, row 1, column 2/,
    "in-memory sample",
  );

  const dir = mkdtempSync(join(tmpdir(), "sdu-nan-"));
  try {
    const img = new Image(4, 4).fill(0x808080ff);
    const path = join(dir, "grey.png");
    await Deno.writeFile(path, await img.encode());
    // A zero standard deviation divides by zero: every pixel becomes infinite.
    const files = new FileDataset([{ filepath: path, target: 1, bias: {} }], 4, {
      mean: [0, 0, 0],
      std: [0, 1, 1],
    });
    using fileLoader = new DataLoader(files, { batchSize: 1 });
    const run = async () => {
      for await (const _ of fileLoader.epoch(0)) { /* consume */ }
    };
    await rejects(
      run(),
      new RegExp(`image ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} holds (NaN|Infinity)`),
      "file",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("divergence and constant logits are failed runs", () => {
  assertLossBounded([{ main: 0.7 }, { main: 6.5 }], Math.LN2, "ok run");
  const e = (() => {
    try {
      assertLossBounded([{ main: 0.7 }, { main: 1.2e29 }], Math.LN2, "LNTL seed=0");
    } catch (err) {
      return err as Error;
    }
    throw new Error("a loss of 1.2e29 passed");
  })();
  if (!(e instanceof FailedRunError) || !/epoch 2 is 1\.20e\+29/.test(e.message)) {
    throw new Error(`unexpected: ${e.message}`);
  }
  const fails = (logits: number[], cols: number, pattern: RegExp) => {
    try {
      assertScoresVary(Float32Array.from(logits), cols, "run", "plain test set");
    } catch (err) {
      if (pattern.test((err as Error).message)) return;
      throw err;
    }
    throw new Error(`logits [${logits}] passed`);
  };
  fails([2, 2, 2, 2], 1, /every one of the 4 images the same logits/);
  fails([1e29, 1e29, 1e29], 1, /same logits/);
  fails([0.1, NaN, 0.3], 1, /logit 1 is NaN/);
  fails([1, 5, 1, 5, 1, 5], 2, /every one of the 3 images/);
  assertScoresVary(Float32Array.from([1, 5, 1, 5, 1, 6]), 2, "run", "varies in one column");
  assertScoresVary(Float32Array.from([0.1, 0.2]), 1, "run", "varies");
});

Deno.test("synth: a huge finite loss (--lr-base 1e6) and a NaN one (1e30) fail with a FAILED report", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sdu-diverge-"));
  try {
    for (
      const [lr, pattern] of [
        // The loss stays finite (~1e9). The running variance overflows first where the network's
        // tensors are checked during training; else the divergence rule catches the loss.
        [
          "1e6",
          new RegExp(
            "^baseline seed=0(: training stopped at step \\d+ of epoch 1: parameter " +
              '"encoder\\.\\S+" became Infinity| failed: training diverged: the main loss ' +
              "of epoch 1 is \\S+e\\+\\d+)",
          ),
        ],
        ["1e30", /^baseline seed=0: training diverged at step \d+ of epoch 1: loss became NaN/],
      ] as const
    ) {
      const options = tinySynthOptions({
        lrBase: lr,
        trainSize: "64",
        backend: "cpu",
        outDir: dir,
      });
      const e = await rejects(runSynth(options, () => {}), pattern, `lr ${lr}`);
      if (lr === "1e6" && !(e instanceof FailedRunError || e instanceof NonFiniteError)) {
        throw new Error(`${e.name} is neither a FailedRunError nor a NonFiniteError`);
      }
      const md = readFileSync(join(dir, "synth-rulers.md"), "utf8");
      if (!md.startsWith("# Synthetic skin artefacts: FAILED")) throw new Error(md);
      if (/AUC \|/.test(md)) throw new Error(`a FAILED report shows an AUC table:\n${md}`);
      const json = JSON.parse(readFileSync(join(dir, "synth-rulers.json"), "utf8"));
      assertEqual(json.runs.length, 0, "no run reported");
      assertEqual(json.failed, e.message, "failure recorded");
      assertEqual(existsSync(join(dir, "synth-rulers.md.partial")), false, "no partial file");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
