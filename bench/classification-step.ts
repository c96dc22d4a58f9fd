/**
 * The training step every classification row times: SGD on one fixed batch (random images,
 * labels `(7i + 3) mod classes`), cross-entropy, the loss read back to the host. One
 * definition, so the small-model rows and the registry-trunk rows measure the same thing. At f16
 * it is `--precision f16`'s step: autocast, and the loss scaler on the device.
 */

import type { Backend } from "../gpu/backend.ts";
import { backward } from "../nn/autograd.ts";
import { autocast, type Precision } from "../nn/autocast.ts";
import type { Layer } from "../nn/module.ts";
import { crossEntropy } from "../nn/ops/loss.ts";
import { randn } from "../nn/ops/random.ts";
import { LossScaler } from "../nn/optim/loss-scaler.ts";
import type { SGD } from "../nn/optim/sgd.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import type { WorkloadSpec } from "./specs.ts";

/** A prepared step and what to free after it. */
export interface ClassificationStep {
  step: () => Promise<void>;
  dispose: () => void;
}

/** Prepares `model`'s step with `opt`; `afterStep` runs after each step's loss is read back. */
export function classificationStep(
  model: Layer,
  opt: SGD,
  s: WorkloadSpec,
  backend: Backend,
  afterStep?: () => void,
  precision: Precision = "f32",
): ClassificationStep {
  const scaler = precision === "f16" ? new LossScaler(backend) : null;
  const x = randn([s.batch, 3, s.size, s.size], 4, { backend });
  const labels = Int32Array.from({ length: s.batch }, (_, i) => (i * 7 + 3) % s.classes);
  const y = tensor(labels, [s.batch], { backend });
  const step = async () => {
    const loss: Tensor = autocast(precision, () =>
      tidy(() => {
        opt.zeroGrad();
        const l = crossEntropy(model.forward(x), y);
        backward(scaler ? scaler.scale(l) : l);
        if (scaler) scaler.step(opt);
        else opt.step();
        return l;
      }));
    scaler?.update();
    const value = (await loss.data())[0];
    loss.dispose();
    afterStep?.();
    if (!Number.isFinite(value)) throw new Error(`${s.id}: training loss became ${value}`);
  };
  return {
    step,
    dispose: () => {
      opt.dispose();
      scaler?.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
