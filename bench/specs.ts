/**
 * What each benchmark row computes, as plain data: the same spec drives our backends, the
 * TensorFlow.js child process and the PyTorch script, so every column times the same problem.
 */

import { demoSchema } from "../experiments/demo-options.ts";
import { SYNTH_TRUNK_WIDTH } from "../nn/models/synth-cnn.ts";

export type WorkloadKind =
  | "matmul"
  | "conv_fwd"
  | "conv_bwd"
  | "resnet18"
  | "small_cnn"
  | "colored_mnist"
  | "synth_debias"
  | "trunk";

export interface WorkloadSpec {
  /** Row id, e.g. "W2b"; `--only` selects by `group` ("W2") or by id. */
  id: string;
  group: string;
  label: string;
  kind: WorkloadKind;
  unit: "GFLOP/s" | "images/s" | "s/epoch";
  /** Shape parameters; which ones a kind reads is fixed by `kind`. */
  m: number;
  n: number;
  k: number;
  c: number;
  h: number;
  w: number;
  o: number;
  pad: number;
  batch: number;
  size: number;
  classes: number;
  /** s/epoch rows: training steps in one epoch (the row times one step). */
  epochSteps: number;
  /** synth_debias: channel width of the synthetic trunk's first stage. */
  width: number;
  /** trunk: the registry name of the trunk (bench/trunk-rows.ts). */
  model?: string;
  /** Kernel rows (--repeat): launches per timed call, the last one's result read back. */
  repeat?: number;
  /** Floating-point operations of one call (training: about 3x the forward pass); used for
   * GFLOP/s and to guess a slow cell's time before running it. */
  flops: number;
}

/** Every shape parameter at 0: a spec spreads it and sets the ones its kind reads. */
export const ZERO = {
  m: 0,
  n: 0,
  k: 0,
  c: 0,
  h: 0,
  w: 0,
  o: 0,
  pad: 0,
  batch: 0,
  size: 0,
  classes: 0,
  epochSteps: 0,
  width: 0,
};

/** Same-padded or valid convolution cost and output side, square images. */
function conv(n: number, cin: number, cout: number, k: number, s: number, p: number, h: number) {
  const oh = Math.floor((h + 2 * p - k) / s) + 1;
  return { flops: 2 * n * cout * oh * oh * cin * k * k, oh };
}

/** ResNet-18 forward FLOPs with torchvision's 7x7/2 stem and 3x3/2 max-pool (W3 of issue 2). */
export function resnet18Flops(n: number, size: number, classes: number): number {
  const stem = conv(n, 3, 64, 7, 2, 3, size);
  let flops = stem.flops;
  let h = Math.floor((stem.oh + 2 - 3) / 2) + 1;
  let c = 64;
  for (const [width, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    for (const s of [stride, 1]) {
      const a = conv(n, c, width, 3, s, 1, h);
      const b = conv(n, width, width, 3, 1, 1, a.oh);
      flops += a.flops + b.flops;
      if (s !== 1 || c !== width) flops += conv(n, c, width, 1, s, 0, h).flops;
      h = a.oh;
      c = width;
    }
  }
  return flops + 2 * n * 512 * classes;
}

export function smallCnnFlops(n: number, size: number): number {
  const a = conv(n, 3, 16, 5, 1, 0, size);
  const b = conv(n, 16, 32, 5, 1, 0, a.oh >> 1);
  return a.flops + b.flops + 2 * n * 32 * (b.oh >> 1) ** 2 * 10;
}

export function coloredMnistFlops(n: number, size: number): number {
  const a = conv(n, 3, 32, 5, 1, 2, size);
  const pooled = Math.floor((a.oh + 2 - 3) / 2) + 1;
  const b = conv(n, 32, 32, 3, 1, 1, pooled);
  const c = conv(n, 32, 64, 3, 2, 1, b.oh);
  const d = conv(n, 64, 64, 3, 1, 1, c.oh);
  return a.flops + b.flops + c.flops + d.flops + 2 * n * 64 * 10;
}

/**
 * The synthetic trunk (nn/models/synth-cnn.ts): four 3x3 conv + BN + ReLU stages of width w, 2w,
 * 4w, 4w, the first three followed by 2x2 max-pooling.
 */
export function synthTrunkFlops(n: number, size: number, width: number): number {
  let flops = 0;
  let h = size;
  let c = 3;
  for (
    const [out, pool] of [[width, true], [2 * width, true], [4 * width, true], [
      4 * width,
      false,
    ]] as const
  ) {
    flops += conv(n, c, out, 3, 1, 1, h).flops;
    c = out;
    if (pool) h = Math.floor(h / 2);
  }
  return flops;
}

/** The demo's setting (`deno task demo`), from its own defaults so the row follows it. */
const demo = demoSchema.parse({});
const DEMO = {
  lesions: demo.trainSize,
  size: demo.imageSize,
  batch: demo.batchSize,
  width: SYNTH_TRUNK_WIDTH,
};

const W2 = { ...ZERO, n: 16, c: 64, h: 56, w: 56, o: 64, k: 3, pad: 1 };
const W2_FLOPS = conv(16, 64, 64, 3, 1, 1, 56).flops;

/** Images in one Colored-MNIST training epoch (the MNIST training split). */
export const EPOCH_IMAGES = 60_000;

export const WORKLOADS: readonly WorkloadSpec[] = [
  {
    ...ZERO,
    id: "W1",
    group: "W1",
    label: "W1 matmul 1024³",
    kind: "matmul",
    unit: "GFLOP/s",
    m: 1024,
    n: 1024,
    k: 1024,
    flops: 2 * 1024 ** 3,
  },
  {
    ...ZERO,
    id: "W1L",
    group: "W1",
    label: "W1 matmul 4096³",
    kind: "matmul",
    unit: "GFLOP/s",
    m: 4096,
    n: 4096,
    k: 4096,
    flops: 2 * 4096 ** 3,
  },
  {
    ...W2,
    id: "W2f",
    group: "W2",
    label: "W2 conv 3x3 N16 C64 56² O64, forward",
    kind: "conv_fwd",
    unit: "GFLOP/s",
    flops: W2_FLOPS,
  },
  {
    ...W2,
    id: "W2b",
    group: "W2",
    label: "W2 conv, backward (grad input + grad weight)",
    kind: "conv_bwd",
    unit: "GFLOP/s",
    flops: 2 * W2_FLOPS,
  },
  {
    ...ZERO,
    id: "W3",
    group: "W3",
    label: "W3 ResNet-18 64² b32 train step",
    kind: "resnet18",
    unit: "images/s",
    batch: 32,
    size: 64,
    classes: 10,
    flops: 3 * resnet18Flops(32, 64, 10),
  },
  {
    ...ZERO,
    id: "W4",
    group: "W4",
    label: "W4 small CNN 28² b128 train step",
    kind: "small_cnn",
    unit: "images/s",
    batch: 128,
    size: 28,
    classes: 10,
    flops: 3 * smallCnnFlops(128, 28),
  },
  {
    ...ZERO,
    id: "CM",
    group: "CM",
    label: "Colored-MNIST baseline epoch (60k, b128)",
    kind: "colored_mnist",
    unit: "s/epoch",
    batch: 128,
    size: 28,
    classes: 10,
    epochSteps: EPOCH_IMAGES / 128,
    flops: 3 * coloredMnistFlops(128, 28),
  },
  {
    ...ZERO,
    id: "SD",
    group: "SD",
    label: `SD synth CLGR epoch (demo: ${DEMO.lesions} lesions ${DEMO.size}², b${DEMO.batch})`,
    kind: "synth_debias",
    unit: "s/epoch",
    batch: DEMO.batch,
    size: DEMO.size,
    classes: 2,
    width: DEMO.width,
    epochSteps: Math.floor(DEMO.lesions / DEMO.batch),
    // two phases, each a forward and a backward pass of the trunk
    flops: 6 * synthTrunkFlops(DEMO.batch, DEMO.size, DEMO.width),
  },
];

/** Row kinds that time a kernel alone, which --repeat launches several times per call. */
export const KERNEL_KINDS: readonly WorkloadKind[] = ["matmul", "conv_fwd", "conv_bwd"];

/**
 * `--repeat N`: kernel rows launch N times per timed call and read back only the last result, so
 * their figure is the kernel's rate rather than one read-back's latency (about 11 ms per read
 * in Deno 2.9's WebGPU, whose mapAsync sleeps 10 ms between device polls). Every column does
 * the same; FLOPs count every launch.
 */
export function withRepeat(specs: readonly WorkloadSpec[], repeat: number): WorkloadSpec[] {
  if (repeat === 1) return [...specs];
  return specs.map((s) =>
    KERNEL_KINDS.includes(s.kind)
      ? { ...s, repeat, flops: s.flops * repeat, label: `${s.label}, ×${repeat} per read-back` }
      : s
  );
}

/** The row's number from the median seconds of one call. */
export function valueOf(spec: WorkloadSpec, seconds: number): number {
  if (spec.unit === "GFLOP/s") return spec.flops / seconds / 1e9;
  if (spec.unit === "images/s") return spec.batch / seconds;
  return spec.epochSteps * seconds;
}

/** Whether a larger number is better (false only for epoch seconds). */
export function higherIsBetter(spec: WorkloadSpec): boolean {
  return spec.unit !== "s/epoch";
}

/** The small convolution every column calibrates on (N8 C32 28² 3x3 pad 1 O32). */
export const CALIBRATION = { ...ZERO, n: 8, c: 32, h: 28, w: 28, o: 32, k: 3, pad: 1 };
export const CALIBRATION_FLOPS = conv(8, 32, 32, 3, 1, 1, 28).flops;

/** Picks rows by `--only` names (groups like "W2" or ids like "W2b"); unknown names throw. */
export function selectWorkloads(only: string[] | null): WorkloadSpec[] {
  if (!only) return [...WORKLOADS];
  const known = new Set(WORKLOADS.flatMap((w) => [w.id, w.group]));
  const unknown = only.filter((name) => !known.has(name));
  if (unknown.length) {
    throw new Error(
      `--only: unknown workload ${unknown.join(", ")} (known: ${[...known].join(", ")})`,
    );
  }
  return WORKLOADS.filter((w) => only.includes(w.id) || only.includes(w.group));
}
