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
  /**
   * The layer's i32 batch counter (PyTorch's num_batches_tracked), incremented in place with
   * the running statistics in training.
   */
  numBatchesTracked?: Tensor;
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

/** The layout and the mean and variance an input is normalised with. */
interface NormStatistics {
  s: BatchNormShape;
  mean: Tensor;
  variance: Tensor;
}

/** Batch statistics (moving the running ones) in training, the running ones in evaluation. */
function statistics(
  x: Tensor,
  perChannel: { gamma: Tensor; beta: Tensor; runningMean: Tensor; runningVar: Tensor },
  training: boolean,
  momentum: number,
  numBatchesTracked?: Tensor,
): NormStatistics {
  if (x.dtype !== "f32") throw new Error(`batchNorm needs an f32 input, got ${x.dtype}`);
  const s = layoutOf(x);
  for (const [name, t] of Object.entries(perChannel)) checkChannelTensor(name, t, x, s.c);
  const { runningMean, runningVar } = perChannel;
  if (!training) return { s, mean: runningMean, variance: runningVar };
  const count = s.n * s.spatial;
  if (count < 2) {
    throw new Error(
      `batchNorm in training needs more than 1 value per channel, got input [${x.shape}]`,
    );
  }
  const counter = numBatchesTracked ?? null;
  if (counter && (counter.backend !== x.backend || counter.dtype !== "i32" || counter.size !== 1)) {
    throw new Error(`batchNorm: numBatchesTracked must be one i32 on the input's backend`);
  }
  // In place, so modules, state dicts and any tensor sharing these storages see the new values.
  const stats = x.backend.batchNormStatsRunning(
    x.storage,
    s,
    runningMean.storage,
    runningVar.storage,
    counter?.storage ?? null,
    momentum,
  );
  const mean = Tensor.fromStorage(x.backend, stats.mean, [s.c]);
  const variance = Tensor.fromStorage(x.backend, stats.variance, [s.c]);
  return { s, mean, variance };
}

/** d(loss)/d(x, gamma, beta) from d(loss)/dy; what no input needs is freed at once. */
function normGrads(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  g: Storage,
  st: NormStatistics,
  eps: number,
  training: boolean,
  activation?: { reluOutput: Storage } | { siluBeta: Storage },
): (Tensor | null)[] {
  const backend = x.backend;
  const [mean, variance] = [st.mean.storage, st.variance.storage];
  const args = [mean, variance, gamma.storage] as const;
  const r = !activation
    ? backend.batchNormBackward(x.storage, g, ...args, eps, st.s, training)
    : "reluOutput" in activation
    ? backend.batchNormReLUBackward(
      x.storage,
      activation.reluOutput,
      g,
      ...args,
      eps,
      st.s,
      training,
    )
    : backend.batchNormSiLUBackward(
      x.storage,
      g,
      ...args,
      activation.siluBeta,
      eps,
      st.s,
      training,
    );
  const wrap = (t: Tensor, storage: Storage) => {
    if (t.requiresGrad) return Tensor.fromStorage(backend, storage, t.shape);
    backend.free(storage);
    return null;
  };
  return [wrap(x, r.gx), wrap(gamma, r.gGamma), wrap(beta, r.gBeta)];
}

/** batchNormApply, or batchNormApplySiLU with SiLU after it, on the batch's statistics. */
function normalise(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  st: NormStatistics,
  eps: number,
  op: "batchNormApply" | "batchNormApplySiLU" = "batchNormApply",
): Storage {
  return x.backend[op](
    x.storage,
    st.mean.storage,
    st.variance.storage,
    gamma.storage,
    beta.storage,
    eps,
    st.s,
  );
}

export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  { training, momentum = 0.1, eps = 1e-5, numBatchesTracked }: BatchNormOptions,
): Tensor {
  const perChannel = { gamma, beta, runningMean, runningVar };
  const st = statistics(x, perChannel, training, momentum, numBatchesTracked);
  const y = Tensor.fromStorage(x.backend, normalise(x, gamma, beta, st, eps), x.shape);
  return record(
    y,
    [x, gamma, beta],
    "batchNorm",
    (g) => normGrads(x, gamma, beta, g.storage, st, eps, training),
  );
}

/**
 * relu(batchNorm(x) + residual?) as one op that keeps only x and its output for the backward
 * pass, as PyTorch's in-place ReLU does. Composed of batchNorm, add and relu it would keep the
 * normalised tensor (and the sum) too: 10 activation tensors per ResNeXt bottleneck instead of
 * 6, which put a ResNeXt-101 step at 256 px and batch 8 past the WASM heap's 4 GiB. The output
 * alone gives ReLU's mask (y > 0 exactly where its input was), so the backward rule is the
 * primitives' own: reluGrad against y, then batch norm's backward; the residual gets the
 * masked gradient unchanged.
 */
export function batchNormReLU(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  { training, momentum = 0.1, eps = 1e-5, numBatchesTracked }: BatchNormOptions,
  residual?: Tensor,
): Tensor {
  if (residual && (residual.backend !== x.backend || residual.shape.join() !== x.shape.join())) {
    throw new Error(
      `batchNormReLU: the residual [${residual.shape}] must match the input [${x.shape}] ` +
        "on the same backend",
    );
  }
  const perChannel = { gamma, beta, runningMean, runningVar };
  const st = statistics(x, perChannel, training, momentum, numBatchesTracked);
  const backend = x.backend;
  const out = backend.batchNormApplyReLU(
    x.storage,
    st.mean.storage,
    st.variance.storage,
    gamma.storage,
    beta.storage,
    residual?.storage ?? null,
    eps,
    st.s,
  );
  const y = Tensor.fromStorage(backend, out, x.shape);
  const inputs = residual ? [x, gamma, beta, residual] : [x, gamma, beta];
  return record(y, inputs, "batchNormReLU", (g) => {
    if (!residual?.requiresGrad) {
      // ReLU's mask applied inside batch norm's backward: no masked gradient is stored
      return normGrads(x, gamma, beta, g.storage, st, eps, training, { reluOutput: y.storage });
    }
    const view = denseView(x.shape);
    const masked = backend.binary("reluGrad", g.storage, view, y.storage, view);
    const grads = normGrads(x, gamma, beta, masked, st, eps, training);
    return [...grads, Tensor.fromStorage(backend, masked, x.shape)];
  });
}

/**
 * silu(batchNorm(x)) as one op that keeps only x for the backward pass: EfficientNet's conv-bn-act.
 * Composed, it would keep the normalised tensor too (SiLU's backward reads its input). The
 * backward recomputes it from x and the statistics, then runs SiLU's rule and batch norm's.
 */
export function batchNormSiLU(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  { training, momentum = 0.1, eps = 1e-5, numBatchesTracked }: BatchNormOptions,
): Tensor {
  const perChannel = { gamma, beta, runningMean, runningVar };
  const st = statistics(x, perChannel, training, momentum, numBatchesTracked);
  const out = normalise(x, gamma, beta, st, eps, "batchNormApplySiLU");
  const y = Tensor.fromStorage(x.backend, out, x.shape);
  return record(
    y,
    [x, gamma, beta],
    "batchNormSiLU",
    (g) => normGrads(x, gamma, beta, g.storage, st, eps, training, { siluBeta: beta.storage }),
  );
}
