/**
 * Our side of each benchmark row: builds the problem of a WorkloadSpec on one of our backends
 * and returns one timed call. Kernel rows (W1, W2) call the backend directly, as the peers call
 * their kernels; training rows run the real models, loss, autograd and SGD of nn/.
 */

import type { Backend, Conv2dParams, Storage } from "../gpu/backend.ts";
import { cmnistNetwork } from "../experiments/cmnist-model.ts";
import { Sequential } from "../nn/layers/container.ts";
import type { Layer } from "../nn/module.ts";
import { resnet18 } from "../nn/models/resnet.ts";
import { smallCnn } from "../nn/models/small-cnn.ts";
import { randn } from "../nn/ops/random.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { setDefaultBackend } from "../nn/tensor.ts";
import type { Precision } from "../nn/autocast.ts";
import type { WorkloadSpec } from "./specs.ts";
import { synthDebiasRow } from "./synth-step.ts";
import { classificationStep } from "./classification-step.ts";
import type { StepMemory } from "./measure.ts";
import { trunkRow } from "./trunk-rows.ts";

/** A prepared row: `step` is one timed call, `dispose` frees what it holds. */
export interface PreparedWorkload {
  step: () => Promise<unknown>;
  dispose: () => void;
  /** What the row's calls held in device memory, where it tracks that (trunk rows). */
  memory?: () => StepMemory | null;
}

/** Hyper-parameters of the training rows, the same in every column. */
export const TRAIN = { lr: 0.01, momentum: 0.9, cmnistWeightDecay: 5e-4 };

function convParams(s: WorkloadSpec, precision: Precision): Conv2dParams {
  const oh = s.h + 2 * s.pad - s.k + 1;
  const ow = s.w + 2 * s.pad - s.k + 1;
  return {
    n: s.n,
    c: s.c,
    h: s.h,
    w: s.w,
    o: s.o,
    kh: s.k,
    kw: s.k,
    strideH: 1,
    strideW: 1,
    padH: s.pad,
    padW: s.pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    oh,
    ow,
    precision,
  };
}

/** Reads every storage back to the host in one round trip, then frees them. */
async function readAndFree(backend: Backend, list: Storage[]): Promise<void> {
  await backend.readMany(list);
  for (const s of list) backend.free(s);
}

/** A kernel row's call: `spec.repeat` launches (1 unless --repeat), the last one read back. */
function launches(backend: Backend, s: WorkloadSpec, launch: () => Storage[]) {
  return async () => {
    let out = launch();
    for (let i = 1; i < (s.repeat ?? 1); i++) {
      for (const r of out) backend.free(r);
      out = launch();
    }
    await readAndFree(backend, out);
  };
}

function convRow(
  backend: Backend,
  s: WorkloadSpec,
  grads: boolean,
  precision: Precision = "f32",
): PreparedWorkload {
  const p = convParams(s, precision);
  const x = randn([s.n, s.c, s.h, s.w], 1, { backend });
  const w = randn([s.o, s.c, s.k, s.k], 2, { backend });
  const gy = randn([s.n, s.o, p.oh, p.ow], 3, { backend });
  const step = grads
    ? launches(backend, s, () => [
      backend.conv2dGradInput(gy.storage, w.storage, p),
      backend.conv2dGradWeight(x.storage, gy.storage, p),
    ])
    : launches(backend, s, () => [backend.conv2d(x.storage, w.storage, p)]);
  return { step, dispose: () => [x, w, gy].forEach((t) => t.dispose()) };
}

/** The small convolution a column calibrates its guesses on. */
export function calibrationStep(backend: Backend, s: WorkloadSpec): PreparedWorkload {
  return convRow(backend, s, false);
}

function buildModel(s: WorkloadSpec, backend: Backend): Layer {
  if (s.kind === "resnet18") return resnet18({ numClasses: s.classes, backend });
  if (s.kind === "small_cnn") return smallCnn({ numClasses: s.classes, backend });
  const net = cmnistNetwork(backend);
  return new Sequential(net.encoder, net.main);
}

/** One SGD-momentum step on a fixed batch, ending with the loss on the host. */
function trainRow(backend: Backend, s: WorkloadSpec, precision: Precision): PreparedWorkload {
  setDefaultBackend(backend);
  const model = buildModel(s, backend).train();
  const weightDecay = s.kind === "colored_mnist" ? TRAIN.cmnistWeightDecay : 0;
  const opt = new SGD(model.parameters(), { lr: TRAIN.lr, momentum: TRAIN.momentum, weightDecay });
  return classificationStep(model, opt, s, backend, undefined, precision);
}

function matmulRow(backend: Backend, s: WorkloadSpec, precision: Precision): PreparedWorkload {
  const a = randn([s.m, s.k], 5, { backend });
  const b = randn([s.k, s.n], 6, { backend });
  const params = {
    batch: 1,
    m: s.m,
    n: s.n,
    k: s.k,
    transA: false,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
    precision,
  };
  const step = launches(backend, s, () => [backend.matmul(a.storage, b.storage, params)]);
  return { step, dispose: () => [a, b].forEach((t) => t.dispose()) };
}

/** The row at `precision`: f16 is `--precision f16` (GEMM operands at half, loss scaling). */
export function prepareOurs(
  backend: Backend,
  s: WorkloadSpec,
  precision: Precision = "f32",
): PreparedWorkload {
  switch (s.kind) {
    case "matmul":
      return matmulRow(backend, s, precision);
    case "conv_fwd":
      return convRow(backend, s, false, precision);
    case "conv_bwd":
      return convRow(backend, s, true, precision);
    case "resnet18":
    case "small_cnn":
    case "colored_mnist":
      return trainRow(backend, s, precision);
    case "synth_debias":
      return synthDebiasRow(backend, s, precision);
    case "trunk":
      return trunkRow(backend, s, precision);
  }
}
