/**
 * Batch normalisation over channel axis 1 of [N, C], [N, C, L] or [N, C, H, W] inputs, with
 * PyTorch's semantics: training normalises by the batch's biased variance and moves the running
 * statistics towards the batch's mean and UNBIASED variance; evaluation uses the running ones.
 */

import { type BatchNormShape, denseView, type Storage } from "../../gpu/backend.ts";
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the new batch in the running averages (PyTorch's default 0.1). */
  momentum?: number;
  eps?: number;
}

function layoutOf(x: Tensor): BatchNormShape {
  if (x.rank < 2 || x.rank > 4) {
    throw new Error(`batchNorm expects [N, C], [N, C, L] or [N, C, H, W], got [${x.shape}]`);
  }
  return { n: x.shape[0], c: x.shape[1], spatial: x.shape.slice(2).reduce((a, b) => a * b, 1) };
}

function checkChannelTensor(name: string, t: Tensor, x: Tensor, c: number): void {
  if (t.backend !== x.backend) throw new Error(`batchNorm: ${name} lives on another backend`);
  if (t.dtype !== "f32" || t.size !== c || t.rank !== 1) {
    throw new Error(`batchNorm: ${name} must be f32 [${c}], got ${t.dtype} [${t.shape}]`);
  }
}

/**
 * Overwrites `target` with a * target + b * value. The running statistics are updated in their
 * own storage (axpby into a temporary, then copyInto), so modules, state dicts and any tensor
 * sharing that storage see the new values without re-binding.
 */
function blendInPlace(target: Tensor, a: number, value: Tensor, b: number): void {
  const backend = target.backend;
  const blended = backend.axpby(a, target.storage, b, value.storage);
  backend.copyInto(blended, target.storage, denseView(target.shape));
  backend.free(blended);
}

export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  { training, momentum = 0.1, eps = 1e-5 }: BatchNormOptions,
): Tensor {
  if (x.dtype !== "f32") throw new Error(`batchNorm needs an f32 input, got ${x.dtype}`);
  const s = layoutOf(x);
  const perChannel = { gamma, beta, runningMean, runningVar };
  for (const [name, t] of Object.entries(perChannel)) checkChannelTensor(name, t, x, s.c);
  const backend = x.backend;
  let mean = runningMean;
  let variance = runningVar;
  if (training) {
    const count = s.n * s.spatial;
    if (count < 2) {
      throw new Error(
        `batchNorm in training needs more than 1 value per channel, got input [${x.shape}]`,
      );
    }
    const stats = backend.batchNormStats(x.storage, s);
    mean = Tensor.fromStorage(backend, stats.mean, [s.c]);
    variance = Tensor.fromStorage(backend, stats.variance, [s.c]);
    blendInPlace(runningMean, 1 - momentum, mean, momentum);
    blendInPlace(runningVar, 1 - momentum, variance, (momentum * count) / (count - 1));
  }
  const y = Tensor.fromStorage(
    backend,
    backend.batchNormApply(
      x.storage,
      mean.storage,
      variance.storage,
      gamma.storage,
      beta.storage,
      eps,
      s,
    ),
    x.shape,
  );
  return record(y, [x, gamma, beta], "batchNorm", (g) => {
    const r = backend.batchNormBackward(
      x.storage,
      g.storage,
      mean.storage,
      variance.storage,
      gamma.storage,
      eps,
      s,
      training,
    );
    // One kernel pair gives all three; what no input needs is freed at once.
    const wrap = (t: Tensor, storage: Storage) => {
      if (t.requiresGrad) return Tensor.fromStorage(backend, storage, t.shape);
      backend.free(storage);
      return null;
    };
    return [wrap(x, r.gx), wrap(gamma, r.gGamma), wrap(beta, r.gBeta)];
  });
}
