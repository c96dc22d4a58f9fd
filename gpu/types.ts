/**
 * The vocabulary every kernel speaks: dtypes, storages, strided views and the parameter records of
 * the op families. A leaf module: the implementations (gpu/cpu/, gpu/webgpu/, gpu/wasm/) and the
 * registry (gpu/registry.ts) import it, and gpu/backend.ts re-exports it for nn/.
 *
 * Conventions: every tensor is dense row-major; every op returns fresh storage except the
 * optimiser updates and `copyInto`, which write in place. Shapes are passed explicitly so
 * kernels stay free of any tensor bookkeeping.
 */

export type DType = "f32" | "i32";
export type TypedArray = Float32Array | Int32Array;

/**
 * Opaque handle to memory owned by one backend; only that backend can read or free it. A class,
 * not an interface, so backends tell storages from other arguments at run time (`instanceof`).
 */
export abstract class Storage {
  abstract readonly length: number;
  abstract readonly dtype: DType;
}

/**
 * A storage whose memory the host can see (the CPU backend's arrays, views of the WASM heap):
 * what the reference implementations run on, so they serve as fallbacks on those backends as is.
 */
export interface HostStorage extends Storage {
  readonly data: TypedArray;
}

export type { BinaryOp, UnaryOp } from "./elementwise-ops.ts";

/** A strided read of a storage: element (i0..ik) lives at offset + sum(i_d * strides[d]).
 * Strides may be 0 (broadcast) or negative (flip). */
export interface StridedView {
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

export type ReduceOp = "sum" | "max" | "min";

/**
 * Operand precision of the GEMM family (matmul, the convolutions and their gradients). "f16" is
 * PyTorch autocast's arithmetic held in f32 storage: both operands and the result are rounded to
 * IEEE half (nearest even, overflow to infinity, subnormals kept) and products accumulate in f32
 * or better, so a mixed-precision run sees half's range and rounding, and the loss scaler sees
 * its overflows. Absent means "f32".
 */
export type GemmPrecision = "f32" | "f16";

/** C[b] = op(A[b]) x op(B[b]) with op = transpose when asked; a batch stride of 0 broadcasts. */
export interface MatmulParams {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  aBatchStride: number;
  bBatchStride: number;
  precision?: GemmPrecision;
}

/** The fields of an NCHW sliding window that convolutions and pools share, in PyTorch's terms. */
export interface Window2dParams {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  oh: number;
  ow: number;
}

/** NCHW input, OIHW weight (I = C / groups), PyTorch's conv2d arithmetic. */
export interface Conv2dParams extends Window2dParams {
  o: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  precision?: GemmPrecision;
}

/** NCHW pooling window, PyTorch's arithmetic (floor mode; padding counts as -inf for max). */
export interface Pool2dParams extends Window2dParams {
  /** avg pool only: whether padded cells count in the divisor (PyTorch default true). */
  countIncludePad: boolean;
}

/** Layout of a batch-norm input viewed as [n, c, spatial]. */
export interface BatchNormShape {
  n: number;
  c: number;
  spatial: number;
}

export interface SgdParams {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** PyTorch seeds the momentum buffer with the first gradient instead of decaying zeros. */
  firstStep: boolean;
}

export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count for bias correction. */
  step: number;
}

/**
 * Dynamic loss scaling on the device (nn/optim/loss-scaler.ts), so a mixed-precision step needs
 * no read-back: the gradients were computed from the loss times `scale` (f32 [1], a power of
 * two), and `state` (f32 [3], slots LOSS_SCALE_SLOTS) holds whether any gradient of this step is
 * non-finite, the finite steps since the scale last changed, and the overflows so far.
 * An optimiser update given one skips itself on an overflow and unscales the gradients otherwise.
 */
export type LossScaling = { readonly scale: Storage; readonly state: Storage };

/** Where a LossScaling's `state` keeps what. */
export const LOSS_SCALE_SLOTS = { found: 0, goodSteps: 1, overflows: 2, length: 3 } as const;

/** PyTorch GradScaler's schedule: back off on an overflow, grow after `interval` finite steps. */
export interface LossScaleParams {
  growth: number;
  backoff: number;
  interval: number;
}

export type RandomKind = "uniform" | "bernoulli" | "normal";

/** Memory counters; the buffer-pool test reads them to prove training runs in constant memory. */
export interface MemoryStats {
  liveBytes: number;
  pooledBytes: number;
  liveBuffers: number;
}

/** Dense row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = acc;
    acc *= shape[i];
  }
  return strides;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The view that reads a dense tensor as itself. */
export function denseView(shape: readonly number[]): StridedView {
  return { shape, strides: contiguousStrides(shape), offset: 0 };
}
