/**
 * The running-statistics update every backend's batchNormStatsRunning shares (as
 * optim-checks.ts is for the optimisers): its argument check and its weights, in one home so
 * the backends cannot drift apart.
 */

import type { BatchNormShape } from "./types.ts";

interface Sized {
  readonly length: number;
  readonly dtype: string;
}

/** The running mean and variance hold one f32 per channel; the counter is one i32. */
export function checkRunning(
  op: string,
  s: BatchNormShape,
  runningMean: Sized,
  runningVar: Sized,
  count: Sized | null,
): void {
  const perChannel = [["running mean", runningMean], ["running variance", runningVar]] as const;
  for (const [name, t] of perChannel) {
    if (t.dtype !== "f32" || t.length !== s.c) {
      throw new Error(`${op}: ${name} must be f32 [${s.c}], got ${t.dtype} [${t.length}]`);
    }
  }
  if (count && (count.dtype !== "i32" || count.length !== 1)) {
    throw new Error(
      `${op}: the batch counter must be one i32, got ${count.dtype} [${count.length}]`,
    );
  }
  if (s.n * s.spatial < 2) {
    throw new Error(`${op}: running statistics need more than 1 value per channel`);
  }
}

/**
 * PyTorch's weights: running = keep * running + meanWeight * mean (varWeight * variance for the
 * variance, which moves towards the unbiased estimate: count / (count - 1) times the biased).
 */
export function runningWeights(s: BatchNormShape, momentum: number): [number, number, number] {
  const count = s.n * s.spatial;
  return [1 - momentum, momentum, (momentum * count) / (count - 1)];
}
