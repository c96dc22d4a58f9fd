/**
 * The TensorFlow.js peer, run as its own process by tfjs_column.ts:
 * `deno run -A bench/peers/tfjs.ts --backend=webgpu|cpu '<request json>'`.
 * tfjs-backend-webgpu asks `navigator.gpu` for an adapter, the same one our WebGPU column gets.
 */

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { calibrate, measure } from "../measure.ts";
import type { WorkloadSpec } from "../specs.ts";
import type { PeerLine, PeerRequest } from "./protocol.ts";
import { coloredMnistNet, resnet18, smallCnn, type TfNet } from "./tfjs_models.ts";

type Step = () => Promise<unknown>;

function convInputs(s: WorkloadSpec) {
  const x = tf.randomNormal([s.n, s.h, s.w, s.c], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([s.k, s.k, s.c, s.o], 0, 0.05, "float32", 2) as tf.Tensor4D;
  return { x, w };
}

/** A kernel row's call: `s.repeat` launches (1 unless --repeat), the last one read back. */
function launches(s: WorkloadSpec, launch: () => tf.Tensor[]): Step {
  return async () => {
    let out = launch();
    for (let i = 1; i < (s.repeat ?? 1); i++) {
      tf.dispose(out);
      out = launch();
    }
    await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
  };
}

function convForward(s: WorkloadSpec): Step {
  const { x, w } = convInputs(s);
  return launches(s, () => [tf.conv2d(x, w, 1, s.pad)]);
}

/** The two gradient kernels alone, as PyTorch's conv2d_input/conv2d_weight give them. */
function convBackward(s: WorkloadSpec): Step {
  const { x, w } = convInputs(s);
  const dy = tf.randomNormal([s.n, s.h, s.w, s.o], 0, 1, "float32", 3);
  const attrs = { strides: 1, pad: s.pad, dataFormat: "NHWC" };
  return launches(s, () => [
    tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
      ...attrs,
      inputShape: x.shape,
    }) as tf.Tensor,
    tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
      ...attrs,
      filterShape: w.shape,
    }) as tf.Tensor,
  ]);
}

/** One SGD-momentum training step (lr 0.01, momentum 0.9), ending with the loss on the host. */
function trainStep(s: WorkloadSpec, net: TfNet): Step {
  const x = tf.randomNormal([s.batch, s.size, s.size, 3], 0, 1, "float32", 4) as tf.Tensor4D;
  const labels = tf.randomUniform([s.batch], 0, s.classes, "int32", 5) as tf.Tensor1D;
  const targets = tf.oneHot(labels, s.classes);
  const opt = tf.train.momentum(0.01, 0.9);
  return async () => {
    const loss = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(targets, net.forward(x)) as tf.Scalar,
      true,
      net.vars,
    )!;
    await loss.data();
    loss.dispose();
  };
}

function makeStep(s: WorkloadSpec): Step {
  switch (s.kind) {
    case "matmul": {
      const a = tf.randomNormal([s.m, s.k], 0, 1, "float32", 6) as tf.Tensor2D;
      const b = tf.randomNormal([s.k, s.n], 0, 1, "float32", 7) as tf.Tensor2D;
      return launches(s, () => [tf.matMul(a, b)]);
    }
    case "conv_fwd":
      return convForward(s);
    case "conv_bwd":
      return convBackward(s);
    case "resnet18":
      return trainStep(s, resnet18(s.classes));
    case "small_cnn":
      return trainStep(s, smallCnn());
    case "colored_mnist":
      return trainStep(s, coloredMnistNet());
    case "synth_debias":
      throw new Error("the TF.js peer has no two-phase debiasing step (bench skips its column)");
    case "trunk":
      throw new Error("the TF.js peer has none of the study's trunks (bench skips its column)");
  }
}

async function describe(backend: string): Promise<string> {
  const base = `@tensorflow/tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}`;
  if (backend !== "webgpu") return base;
  const info = (await navigator.gpu.requestAdapter())?.info;
  return `${base}, adapter ${info?.description || info?.device || "?"}, vendor ${info?.vendor}`;
}

function emit(line: PeerLine): void {
  console.log(JSON.stringify(line));
}

async function main(): Promise<void> {
  const backend = Deno.args.find((a) => a.startsWith("--backend="))?.slice(10) ?? "webgpu";
  const request = JSON.parse(Deno.args[Deno.args.length - 1]) as PeerRequest;
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not start`);
  await tf.ready();
  emit({ info: await describe(backend) });
  const rate = await calibrate(
    convForward(request.calibration as WorkloadSpec),
    request.calibrationFlops,
  );
  for (const spec of request.workloads) {
    tf.engine().startScope();
    emit({ start: spec.id });
    try {
      const step = makeStep(spec);
      const m = await measure(step, {
        ...request,
        estimateS: spec.flops / rate,
        onFirst: (seconds) => emit({ first: spec.id, seconds }),
      });
      emit({ id: spec.id, ...m });
    } catch (err) {
      emit({ id: spec.id, kind: "error", reason: (err as Error).message.split("\n")[0] });
    }
    tf.engine().endScope();
    tf.disposeVariables();
  }
}

if (import.meta.main) {
  await main();
  // the WebGPU device keeps the event loop alive
  Deno.exit(0);
}
