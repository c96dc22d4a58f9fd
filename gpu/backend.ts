/**
 * The one interface through which `nn/` reaches kernels. Two implementations: the WebGPU backend
 * (gpu/webgpu/, WGSL kernels in gpu/shaders/) and the CPU twins (gpu/cpu/, plain TypeScript),
 * which are also the oracle every kernel is tested against.
 *
 * Conventions: every tensor is dense row-major; every op returns fresh storage except the
 * optimiser updates and `copyInto`, which write in place. Shapes are passed explicitly so
 * kernels stay free of any tensor bookkeeping.
 */

export type DType = "f32" | "i32";
export type TypedArray = Float32Array | Int32Array;

/** Opaque handle to memory owned by one backend; only that backend can read or free it. */
export interface Storage {
  readonly length: number;
  readonly dtype: DType;
}

/** Element-wise ops of one input; `param` feeds the scalar ones (scale, addScalar, powScalar,
 * reverseGrad, leakyRelu slope, clampMin/clampMax bound). */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "abs"
  | "sign"
  | "relu"
  | "step"
  | "sigmoid"
  | "tanh"
  | "silu"
  | "square"
  | "reciprocal"
  | "scale"
  | "addScalar"
  | "powScalar"
  | "reverseGrad"
  | "clampMin"
  | "clampMax";

/** Element-wise ops of two inputs with NumPy broadcasting. Comparisons give 1 or 0. */
export type BinaryOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "pow"
  | "maximum"
  | "minimum"
  | "eq"
  | "gt"
  | "ge"
  /** ReLU's backward (gradient a, input b): 0 where b <= 0, else a (a NaN b passes a, as torch). */
  | "reluGrad";

/** A strided read of a storage: element (i0..ik) lives at offset + sum(i_d * strides[d]).
 * Strides may be 0 (broadcast) or negative (flip). */
export interface StridedView {
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

export type ReduceOp = "sum" | "max" | "min";

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
}

/** NCHW input, OIHW weight (I = C / groups), PyTorch's conv2d arithmetic. */
export interface Conv2dParams {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  oh: number;
  ow: number;
}

/** NCHW pooling window, PyTorch's arithmetic (floor mode; padding counts as -inf for max). */
export interface Pool2dParams {
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

export type RandomKind = "uniform" | "bernoulli" | "normal";

/** Memory counters; the buffer-pool test reads them to prove training runs in constant memory. */
export interface MemoryStats {
  liveBytes: number;
  pooledBytes: number;
  liveBuffers: number;
}

export interface Backend {
  readonly name: string;
  /** Human-readable device, e.g. "cpu (TypeScript reference)" or the adapter's description. */
  readonly description: string;

  // --- memory ---
  upload(data: TypedArray): Storage;
  zeros(length: number, dtype: DType): Storage;
  fill(length: number, value: number, dtype: DType): Storage;
  read(s: Storage): Promise<TypedArray>;
  /** Reads many storages with one round trip (the GPU stalls once, not per tensor). */
  readMany(list: Storage[]): Promise<TypedArray[]>;
  free(s: Storage): void;
  memory(): MemoryStats;
  /** Submits queued work (no-op on the CPU). */
  flush(): void;

  // --- element-wise (elementwise.wgsl) ---
  unary(op: UnaryOp, x: Storage, param: number): Storage;
  binary(op: BinaryOp, a: Storage, aView: StridedView, b: Storage, bView: StridedView): Storage;
  cast(x: Storage, to: DType): Storage;
  /** out = a * x + b * y (same lengths): the hot path of gradient accumulation. */
  axpby(a: number, x: Storage, b: number, y: Storage): Storage;

  // --- layout (layout.wgsl) ---
  /** Materialises a strided view as a dense tensor of view.shape. */
  gather(x: Storage, view: StridedView): Storage;
  /** Writes dense `src` into `dst` at a strided view (concat, slice-assign). */
  copyInto(src: Storage, dst: Storage, dstView: StridedView): void;

  // --- reductions (reduce.wgsl) ---
  /** Reduces `axes` of x (of `shape`); the output has the kept axes in order. */
  reduce(op: ReduceOp, x: Storage, shape: readonly number[], axes: readonly number[]): Storage;

  // --- matmul (matmul.wgsl) ---
  matmul(a: Storage, b: Storage, p: MatmulParams): Storage;

  // --- convolution (conv.wgsl) ---
  conv2d(x: Storage, w: Storage, p: Conv2dParams): Storage;
  conv2dGradInput(gy: Storage, w: Storage, p: Conv2dParams): Storage;
  conv2dGradWeight(x: Storage, gy: Storage, p: Conv2dParams): Storage;

  // --- batch norm (batchnorm.wgsl) ---
  /** Per-channel mean and biased variance over n and spatial. */
  batchNormStats(x: Storage, s: BatchNormShape): { mean: Storage; variance: Storage };
  batchNormApply(
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    beta: Storage,
    eps: number,
    s: BatchNormShape,
  ): Storage;
  /** Gradients of batchNormApply; with `batchStats` the mean/variance are functions of x. */
  batchNormBackward(
    x: Storage,
    gy: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    eps: number,
    s: BatchNormShape,
    batchStats: boolean,
  ): { gx: Storage; gGamma: Storage; gBeta: Storage };

  // --- pooling (pool.wgsl) ---
  maxPool2d(x: Storage, p: Pool2dParams): { y: Storage; argmax: Storage };
  maxPool2dBackward(gy: Storage, argmax: Storage, p: Pool2dParams): Storage;
  avgPool2d(x: Storage, p: Pool2dParams): Storage;
  avgPool2dBackward(gy: Storage, p: Pool2dParams): Storage;

  // --- softmax and losses (softmax.wgsl, loss.wgsl) ---
  softmax(x: Storage, rows: number, cols: number, log: boolean): Storage;
  /** Per-element loss of BCE-with-logits, numerically stable. */
  bceWithLogits(x: Storage, target: Storage): Storage;
  /** Per-row weighted cross-entropy and the weight each row carries (0 where ignored). */
  crossEntropy(
    logits: Storage,
    labels: Storage,
    classWeights: Storage | null,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): { loss: Storage; weight: Storage };
  /** d(sum_r gRow[r] * loss[r]) / d logits. */
  crossEntropyBackward(
    logits: Storage,
    labels: Storage,
    classWeights: Storage | null,
    gRow: Storage,
    rows: number,
    cols: number,
    ignoreIndex: number,
  ): Storage;
  oneHot(labels: Storage, cols: number): Storage;

  // --- random (random.wgsl): counter-based, so both backends draw the same numbers ---
  random(length: number, kind: RandomKind, p: number, seed: number): Storage;

  // --- optimisers (optim.wgsl), in place ---
  sgdStep(param: Storage, grad: Storage, momentumBuf: Storage, p: SgdParams): void;
  adamStep(param: Storage, grad: Storage, m: Storage, v: Storage, p: AdamParams): void;
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
