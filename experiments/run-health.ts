/**
 * When a finished run is a failed run. A loss can stay finite and still have diverged (at
 * `--lr 1e30` the main loss sits near 1e29), and a dead network can score every test image the
 * same, which ROC AUC reports as 0.500: both used to end with exit 0 and a results table that
 * looked normal. The runners call these checks and, on failure, write a report that says FAILED
 * and stop with a {@link FailedRunError} (exit non-zero).
 */

/** How many times a constant guess's loss the main loss may reach before the run has diverged. */
export const DIVERGENCE_FACTOR = 10;

/** A run whose numbers must not be reported as a result; the message says why. */
export class FailedRunError extends Error {
  constructor(readonly run: string, readonly reason: string) {
    super(`${run} failed: ${reason}`);
    this.name = "FailedRunError";
  }
}

/**
 * Throws when an epoch's mean main loss is not finite or exceeds {@link DIVERGENCE_FACTOR}
 * times `chanceLoss`, the loss of a constant 1/K guess (ln 2 for one logit, ln K for K classes):
 * a model that does that much worse than guessing has diverged, whatever its loss will do next.
 */
export function assertLossBounded(
  epochs: readonly { main: number }[],
  chanceLoss: number,
  run: string,
): void {
  const limit = DIVERGENCE_FACTOR * chanceLoss;
  epochs.forEach((e, i) => {
    if (Number.isFinite(e.main) && e.main <= limit) return;
    throw new FailedRunError(
      run,
      `training diverged: the main loss of epoch ${i + 1} is ${e.main.toPrecision(3)}, more ` +
        `than ${DIVERGENCE_FACTOR}x a constant guess's ${chanceLoss.toFixed(3)} ` +
        `(a smaller learning rate may help)`,
    );
  });
}

/**
 * Throws when test logits (rows of `cols` values) hold NaN or infinities, or when every column
 * is constant over the rows up to float rounding: such a model ranks nothing, and its AUC of
 * 0.500 is not a measurement.
 */
export function assertScoresVary(
  logits: Float32Array,
  cols: number,
  run: string,
  what: string,
): void {
  const rows = Math.floor(logits.length / cols);
  if (rows * cols !== logits.length || rows === 0) {
    throw new FailedRunError(run, `${what}: ${logits.length} logits for ${cols} per image`);
  }
  const bad = logits.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new FailedRunError(
      run,
      `${what}: logit ${bad} is ${logits[bad]}; the trained model is broken`,
    );
  }
  for (let c = 0; c < cols; c++) {
    let lo = Infinity, hi = -Infinity;
    for (let r = 0; r < rows; r++) {
      const v = logits[r * cols + c];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo > 1e-6 * Math.max(1, Math.abs(lo), Math.abs(hi))) return;
  }
  throw new FailedRunError(
    run,
    `${what}: the model gives every one of the ${rows} images the same logits ` +
      `(${Array.from(logits.subarray(0, Math.min(cols, 3)), (v) => v.toPrecision(4)).join(", ")}` +
      `${cols > 3 ? ", ..." : ""}); it ranks nothing, so no AUC is reported`,
  );
}

/** The Markdown of a failed invocation: the reason first, then what did finish. */
export function failedMarkdown(title: string, error: Error, finished: string): string {
  return [
    `# ${title}: FAILED`,
    "",
    `**This invocation failed and is not a result:** ${error.message}`,
    "",
    finished ? `Runs that finished before the failure:\n\n${finished}` : "No run finished.",
    "",
  ].join("\n");
}
