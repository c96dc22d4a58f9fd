/**
 * One test case per registered op (gpu/registry.ts): a tensor-level function that reaches the op
 * (its forward, or a forward whose gradient runs it), its inputs, and its gradient check. Typed
 * `Record<OpName, OpCase>`, so a new op without a case does not compile; tests/registry_test.ts
 * runs every case: the op must be reached, finite differences must match the analytic gradient,
 * and every fast backend must match the reference.
 */

import type { OpName, Storage } from "../../gpu/backend.ts";
import { batchNorm, batchNormReLU, batchNormSiLU } from "../../nn/ops/batchnorm.ts";
import { conv2d } from "../../nn/ops/conv.ts";
import * as ew from "../../nn/ops/elementwise.ts";
import { concat, permute } from "../../nn/ops/layout.ts";
import { bceWithLogits, crossEntropy, oneHot } from "../../nn/ops/loss.ts";
import { matmul } from "../../nn/ops/matmul.ts";
import { avgPool2d, maxPool2d } from "../../nn/ops/pool.ts";
import { dropout } from "../../nn/ops/random.ts";
import { max, sum } from "../../nn/ops/reduce.ts";
import { softmax } from "../../nn/ops/softmax.ts";
import { Tensor, tensor } from "../../nn/tensor.ts";
import type { Tolerance } from "./assert.ts";
import { type InputSpec, randomValues } from "./gradcheck.ts";

export interface OpCase {
  fn: (...x: Tensor[]) => Tensor;
  inputs: InputSpec[];
  /** Finite-difference settings, or why the op has no gradient to check. */
  grad: (Tolerance & { eps?: number }) | { none: string };
  compare?: Tolerance;
}

const spaced = (shape: number[], step = 0.37): InputSpec => {
  const n = shape.reduce((a, b) => a * b, 1);
  // Distinct values a step apart, so max and max-pool have no ties for finite differences.
  return { shape, values: Float32Array.from({ length: n }, (_, i) => ((i * 7) % n) * step - 1) };
};

const ints = (values: number[]): InputSpec => ({
  shape: [values.length],
  int: true,
  values: Int32Array.from(values),
});

const conv: OpCase = {
  fn: (x, w) => conv2d(x, w, null, { padding: 1, stride: [2, 1], groups: 2 }),
  inputs: [{ shape: [2, 4, 5, 6] }, { shape: [6, 2, 3, 3] }],
  grad: {},
};

const batchNormTrain: OpCase = {
  fn: (x, gamma, beta, mean, variance) =>
    batchNorm(x, gamma, beta, mean, variance, { training: true }),
  inputs: [
    { shape: [3, 2, 2, 3] },
    { shape: [2] },
    { shape: [2] },
    { shape: [2], noGrad: true },
    { shape: [2], noGrad: true, values: Float32Array.from([1, 2]) },
  ],
  grad: {},
  compare: { rtol: 1e-4, atol: 1e-4 },
};

/** Batch norm, residual and ReLU in one op (batchNormReLU), on inputs of batchnorm_relu_test's
 * residual case, whose pre-activations keep clear of the kink at the small step below. */
const batchNormReLUCase: OpCase = {
  fn: (x, gamma, beta, mean, variance, residual) =>
    batchNormReLU(x, gamma, beta, mean, variance, { training: true }, residual),
  inputs: [
    { shape: [2, 2, 3, 2], values: randomValues(24, 33, -2, 2.5) },
    { shape: [2], values: randomValues(2, 34, 0.5, 1.5) },
    { shape: [2], values: randomValues(2, 35, -0.5, 0.5) },
    { shape: [2], noGrad: true, values: randomValues(2, 36, -0.3, 0.3) },
    { shape: [2], noGrad: true, values: randomValues(2, 37, 0.5, 2) },
    { shape: [2, 2, 3, 2], values: randomValues(24, 38, -1, 1) },
  ],
  grad: { eps: 1e-3, atol: 3e-3 },
  compare: { rtol: 1e-4, atol: 1e-4 },
};

/** The same without a residual, whose backward takes the fused ReLU mask. */
const batchNormReLUPlain: OpCase = {
  ...batchNormReLUCase,
  fn: (x, gamma, beta, mean, variance) =>
    batchNormReLU(x, gamma, beta, mean, variance, { training: true }),
  inputs: batchNormReLUCase.inputs.slice(0, 5),
};

/** silu(batch norm) as one op (EfficientNet's conv-bn-act); SiLU is smooth, so any inputs do. */
const batchNormSiLUCase: OpCase = {
  fn: (x, gamma, beta, mean, variance) =>
    batchNormSiLU(x, gamma, beta, mean, variance, { training: true }),
  inputs: batchNormReLUCase.inputs.slice(0, 5),
  grad: { eps: 1e-3, atol: 3e-3 },
  compare: { rtol: 1e-4, atol: 1e-4 },
};

const maxPool: OpCase = {
  fn: (x) => maxPool2d(x, { kernel: 2, stride: [2, 1], padding: 1 }),
  inputs: [spaced([2, 2, 5, 4])],
  grad: {},
};

const avgPool: OpCase = {
  fn: (x) => avgPool2d(x, { kernel: 3, stride: 2, padding: 1, countIncludePad: false }),
  inputs: [{ shape: [2, 3, 5, 6] }],
  grad: {},
};

const crossEntropyCase: OpCase = {
  fn: (logits, labels) => crossEntropy(logits, labels, { ignoreIndex: 9 }),
  inputs: [{ shape: [4, 5] }, ints([2, 9, 0, 4])],
  grad: {},
};

/** An in-place update on a copy of the parameter, so the case's inputs stay as they were. */
const storages = (list: Tensor[]) => list.map((t) => t.storage);

/**
 * An optimiser's group update of copies of two parameters (inputs: param, grad, param, grad),
 * whose state starts after 6 unused elements; returns both updated parameters end to end.
 */
function groupInPlace(
  update: (params: Tensor[], grads: Tensor[], state: Tensor[], base: number) => void,
  states: number,
): (...x: Tensor[]) => Tensor {
  return (p1, g1, p2, g2) => {
    const flat = (t: Tensor) => t.detach().withShape([t.size]);
    const params = [flat(p1), flat(p2)].map((p) => ew.scale(p, 1));
    const grads = [flat(g1), flat(g2)];
    const state = Array.from(
      { length: states },
      (_, k) => ew.scale(concat([grads[1], grads[0], grads[1]], 0), 0.5 + k),
    );
    update(params, grads, state, grads[1].size);
    return concat(params, 0);
  };
}

/** A LossScaling (gpu/types.ts) on `like`'s backend: the scale, and whether the step overflowed. */
function scalingOn(like: Tensor, scale: number, found: boolean, goodSteps = 0) {
  const on = { backend: like.backend };
  return {
    scale: tensor(Float32Array.of(scale), [1], on),
    state: tensor(Float32Array.of(found ? 1 : 0, goodSteps, 0), [3], on),
  };
}

/** A group update run plainly, then loss-scaled by 8, then after an overflow (a no-op). */
function withScaling(
  update: (scaling?: { scale: Storage; state: Storage }) => void,
  like: Tensor,
): void {
  update();
  for (const found of [false, true]) {
    const { scale, state } = scalingOn(like, 8, found);
    update({ scale: scale.storage, state: state.storage });
  }
}

export const OP_CASES: Record<OpName, OpCase> = {
  unary: { fn: (x) => ew.silu(ew.scale(x, 2)), inputs: [{ shape: [3, 7] }], grad: {} },
  binary: {
    fn: (a, b) => ew.div(a, ew.addScalar(ew.square(b), 0.5)),
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
    grad: {},
  },
  cast: {
    fn: (x) => ew.cast(ew.cast(ew.scale(x, 5), "i32"), "f32"),
    inputs: [{ shape: [11] }],
    grad: { none: "casts to labels are not differentiable" },
  },
  // x used twice: its two gradients are accumulated with axpby.
  axpby: { fn: (x) => ew.mul(ew.exp(x), x), inputs: [{ shape: [4, 5] }], grad: {} },
  sigmoidGate: {
    fn: (x, gate) => ew.sigmoidGate(x, gate),
    inputs: [{ shape: [2, 3, 4, 5] }, { shape: [2, 3, 1, 1] }],
    grad: {},
  },
  // Forward fused; the gradient replays the chain with the recorded ops (a used three times, a
  // constant on the left of a binary row).
  fused: {
    fn: (a, b) =>
      ew.fused([a, b], (a, b) =>
        a.mul(b.unary("sigmoid"))
          .add(a.unary("tanh").mul(b))
          .sub(b.mul(0.5))
          .add(a.constant(0.25).binary("mul", a.unary("silu")))),
    inputs: [{ shape: [3, 5] }, { shape: [3, 5] }],
    grad: {},
  },
  gather: { fn: (x) => permute(x, [2, 0, 1]), inputs: [{ shape: [2, 3, 4] }], grad: {} },
  copyInto: {
    fn: (a, b) => ew.mul(concat([a, b], 1), ew.square(concat([b, a], 1))),
    inputs: [{ shape: [2, 3] }, { shape: [2, 2] }],
    grad: {},
  },
  reduce: {
    fn: (x) => ew.add(sum(x, [0, 2]), sum(max(x, 2), 0)),
    inputs: [spaced([2, 3, 4])],
    grad: { eps: 3e-3 },
  },
  matmul: { fn: matmul, inputs: [{ shape: [2, 3, 5] }, { shape: [5, 4] }], grad: {} },
  conv2d: conv,
  conv2dGradInput: conv,
  conv2dGradWeight: conv,
  batchNormStatsRunning: batchNormTrain,
  batchNormApply: batchNormTrain,
  batchNormBackward: batchNormTrain,
  batchNormApplyReLU: batchNormReLUCase,
  batchNormReLUBackward: batchNormReLUPlain,
  batchNormApplySiLU: batchNormSiLUCase,
  batchNormSiLUBackward: batchNormSiLUCase,
  maxPool2d: maxPool,
  maxPool2dBackward: maxPool,
  avgPool2d: avgPool,
  avgPool2dBackward: avgPool,
  softmax: { fn: (x) => softmax(x, 1), inputs: [{ shape: [3, 6] }], grad: {} },
  bceWithLogits: {
    fn: (x, t) => bceWithLogits(x, t),
    inputs: [{ shape: [6] }, { shape: [6], values: Float32Array.from([0, 1, 0.3, 1, 0, 0.8]) }],
    grad: {},
  },
  crossEntropy: crossEntropyCase,
  crossEntropyBackward: crossEntropyCase,
  oneHot: {
    fn: (labels) => oneHot(labels, 5),
    inputs: [ints([3, 0, 4, 1])],
    grad: { none: "one-hot codes of integer labels" },
  },
  random: {
    fn: (x) => dropout(x, 0.5, true, 17),
    inputs: [{ shape: [40] }],
    grad: { none: "the mask's draw; dropout's gradient is a product with it (binary's case)" },
  },
  sgdStepGroup: {
    fn: groupInPlace((params, grads, [buf], base) => {
      const q = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0.01, nesterov: true };
      const b = params[0].backend;
      withScaling(
        (scaling) =>
          b.sgdStepGroup(storages(params), storages(grads), buf.storage, base, {
            ...q,
            firstStep: false,
          }, scaling),
        params[0],
      );
    }, 1),
    inputs: [{ shape: [33] }, { shape: [33] }, { shape: [2, 3] }, { shape: [2, 3] }],
    grad: { none: "an in-place parameter update" },
  },
  adamStepGroup: {
    fn: groupInPlace((params, grads, [m, v], base) => {
      const q = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 2 };
      const b = params[0].backend;
      const vs = ew.square(v).storage;
      withScaling(
        (scaling) =>
          b.adamStepGroup(storages(params), storages(grads), m.storage, vs, base, q, scaling),
        params[0],
      );
    }, 2),
    inputs: [{ shape: [33] }, { shape: [33] }, { shape: [2, 3] }, { shape: [2, 3] }],
    grad: { none: "an in-place parameter update" },
  },
  flagNonFinite: {
    // The state after two finite gradients, then after one that holds infinities and NaN.
    fn: (g1, g2) => {
      const b = g1.backend;
      const clean = scalingOn(g1, 1, false).state;
      b.flagNonFinite([g1.storage, g2.storage], clean.storage);
      const dirty = scalingOn(g1, 1, false).state;
      b.flagNonFinite([g1.storage, ew.div(g2, ew.scale(g2, 0)).storage], dirty.storage);
      return concat([clean, dirty], 0);
    },
    inputs: [{ shape: [300] }, { shape: [7], values: Float32Array.of(1, -2, 0, 3, 0, -1, 2) }],
    grad: { none: "a flag over gradients" },
  },
  updateLossScale: {
    // An overflow backs off; with an interval of 2 the second finite step grows the scale.
    fn: (x) => {
      const p = { growth: 2, backoff: 0.5, interval: 2 };
      const rows: Tensor[] = [];
      for (const [found, good] of [[true, 1], [false, 0], [false, 1]] as const) {
        const { scale, state } = scalingOn(x, 1024, found, good);
        x.backend.updateLossScale(scale.storage, state.storage, p);
        rows.push(scale, state);
      }
      return concat(rows, 0);
    },
    inputs: [{ shape: [1], noGrad: true }],
    grad: { none: "the scale's schedule" },
  },
};
