/**
 * 2-D convolution with PyTorch's semantics (NCHW input, OIHW weight, stride / padding /
 * dilation per axis, groups). The backend computes the convolution and both gradients; the bias
 * is a broadcast add, so its gradient (the sum over N, H, W) comes from the add's own rule.
 */

import { type Conv2dOptions, conv2dParams } from "../../gpu/window-params.ts";
import { record } from "../autograd.ts";
import { gemmPrecision } from "../autocast.ts";
import { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { reshape } from "./layout.ts";

export { type Conv2dOptions, conv2dParams, type Pair } from "../../gpu/window-params.ts";

/** y = conv2d(x, w) + bias, differentiable in x, w and bias. */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  options: Conv2dOptions = {},
): Tensor {
  if (x.dtype !== "f32" || w.dtype !== "f32") {
    throw new Error("conv2d: input and weight must be f32");
  }
  if (x.backend !== w.backend) {
    throw new Error("conv2d: input and weight live on different backends");
  }
  const p = { ...conv2dParams(x.shape, w.shape, options), precision: gemmPrecision() };
  const backend = x.backend;
  const out = Tensor.fromStorage(backend, backend.conv2d(x.storage, w.storage, p), [
    p.n,
    p.o,
    p.oh,
    p.ow,
  ]);
  const y = record(out, [x, w], "conv2d", (g) => [
    x.requiresGrad
      ? Tensor.fromStorage(backend, backend.conv2dGradInput(g.storage, w.storage, p), x.shape)
      : null,
    w.requiresGrad
      ? Tensor.fromStorage(backend, backend.conv2dGradWeight(x.storage, g.storage, p), w.shape)
      : null,
  ]);
  if (!bias) return y;
  if (bias.rank !== 1 || bias.shape[0] !== p.o) {
    throw new Error(`conv2d: bias must be [${p.o}], got [${bias.shape}]`);
  }
  return add(y, reshape(bias, [1, p.o, 1, 1]));
}
