/**
 * The one timing rule every column follows (ours in-process, tfjs in its child process; the
 * Python peer mirrors it): median wall time of `runs` calls after `warmup` untimed ones, each
 * call ending with its result in host memory. A cell that would outlast the budget is skipped
 * instead of holding the whole table hostage.
 */

export interface MeasureOptions {
  warmup: number;
  runs: number;
  /** Seconds one cell may take in all (warm-ups included). */
  budgetS: number;
  /** Seconds one call is expected to take, guessed before running it (null: no guess). */
  estimateS: number | null;
  /** Guesses above this multiple of the budget skip the cell without one call. The guess comes
   * from a small calibration convolution, so it is rough: loose where a hung call can be
   * killed (peer processes), tighter in-process. */
  estimateSlack: number;
  /** Told the first call's seconds (peers report it so a hung cell can be told apart). */
  onFirst?: (seconds: number) => void;
}

/**
 * Memory a row held across its calls, in bytes: after the first call, the second, the last, and
 * the peak (ours: the buffer pool plus live tensors, the most after any call; PyTorch: "rss" on
 * the CPU, its peak the process's, and "cuda" for the caching allocator's reserve on a GPU).
 * The first call also creates the optimiser's state, so steady state is second to last.
 */
export interface StepMemory {
  what: string;
  first: number;
  second: number;
  last: number;
  peak: number;
}

export type Measurement =
  | { kind: "ok"; seconds: number; runs: number; firstS: number; memory?: StepMemory }
  | { kind: "skipped"; reason: string }
  | { kind: "error"; reason: string };

const now = () => performance.now() / 1000;

export async function measure(
  step: () => Promise<unknown>,
  o: MeasureOptions,
): Promise<Measurement> {
  const calls = Math.max(1, o.warmup) + o.runs;
  if (o.estimateS !== null && o.estimateS * calls > o.estimateSlack * o.budgetS) {
    return { kind: "skipped", reason: `~${fmtS(o.estimateS)}/call estimated` };
  }
  const timed = async () => {
    const t0 = now();
    await step();
    return now() - t0;
  };
  const firstS = await timed();
  o.onFirst?.(firstS);
  // the first call pays for compilation; a second one decides when the first alone looks slow
  let warmed = 1;
  let probeS = firstS;
  if (probeS * (calls - 1) > o.budgetS && o.warmup >= 2 && firstS < o.budgetS / 3) {
    probeS = await timed();
    warmed = 2;
  }
  if (probeS * (calls - warmed) > o.budgetS) {
    return { kind: "skipped", reason: `${fmtS(probeS)} for warm-up call ${warmed}` };
  }
  for (let i = warmed; i < o.warmup; i++) await step();
  const times: number[] = [];
  for (let i = 0; i < o.runs; i++) times.push(await timed());
  return { kind: "ok", seconds: median(times), runs: o.runs, firstS };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function fmtS(s: number): string {
  return s >= 10
    ? `${s.toFixed(0)} s`
    : s >= 0.1
    ? `${s.toFixed(2)} s`
    : `${(s * 1000).toFixed(1)} ms`;
}

/** Measures a backend's convolution speed on a small problem so slow cells can be skipped
 * before their first call; returns FLOP/s. */
export async function calibrate(
  convStep: () => Promise<unknown>,
  flops: number,
): Promise<number> {
  await convStep();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = now();
    await convStep();
    times.push(now() - t0);
  }
  return flops / median(times);
}
