/**
 * A terminal progress bar shared by downloads, preprocessing and training.
 *
 * On a TTY it redraws one line in place (throttled); when output goes to a
 * file or CI log it prints a plain line now and then instead, so logs stay
 * readable and small.
 */

/** How the counted quantity is printed: plain counts or bytes (KB/MB/GB). */
export type ProgressUnit = "items" | "bytes";

/** Options of {@linkcode ProgressBar}; everything but `label` has a sensible default. */
export interface ProgressOptions {
  /** What is being counted, printed first on the line. */
  label: string;
  /** Expected final count; undefined or 0 when unknown (no bar, no ETA). */
  total?: number;
  /** Where counting starts (e.g. bytes already on disk when a download resumes). */
  start?: number;
  unit?: ProgressUnit;
  /** Name of the counted thing in rates for `items` (e.g. "img", "batch"). */
  itemName?: string;
  /** Redraw in place; defaults to whether stdout is a terminal. */
  tty?: boolean;
  /** Sink for the text; defaults to stdout. */
  write?: (text: string) => void;
  /** Minimum milliseconds between TTY redraws. */
  redrawMs?: number;
  /** Milliseconds between plain lines when not on a TTY. */
  lineIntervalMs?: number;
  /** Clock in milliseconds (injectable for tests). */
  now?: () => number;
  /** Bar width in characters on a TTY. */
  width?: number;
}

const encoder = new TextEncoder();

function defaultWrite(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

function defaultIsTty(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** Formats a byte count as B/KB/MB/GB with one decimal. */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** Counts progress towards an optional total and shows rate and ETA. */
export class ProgressBar {
  readonly label: string;
  total: number;
  current: number;
  /** Shown after the rate and ETA, e.g. smoothed losses (tqdm's postfix); empty for none. */
  postfix = "";
  private readonly startValue: number;
  private readonly unit: ProgressUnit;
  private readonly itemName: string;
  private readonly tty: boolean;
  private readonly write: (text: string) => void;
  private readonly redrawMs: number;
  private readonly lineIntervalMs: number;
  private readonly now: () => number;
  private readonly width: number;
  private readonly startedAt: number;
  private lastDrawAt = -Infinity;
  private lastLineAt: number;
  private finished = false;

  constructor(options: ProgressOptions) {
    this.label = options.label;
    this.total = options.total ?? 0;
    this.startValue = options.start ?? 0;
    this.current = this.startValue;
    this.unit = options.unit ?? "items";
    this.itemName = options.itemName ?? "it";
    this.tty = options.tty ?? defaultIsTty();
    this.write = options.write ?? defaultWrite;
    this.redrawMs = options.redrawMs ?? 100;
    this.lineIntervalMs = options.lineIntervalMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    this.width = options.width ?? 24;
    this.startedAt = this.now();
    this.lastLineAt = this.startedAt;
  }

  /** Units per second since this bar started (excluding the `start` offset). */
  rate(): number {
    const seconds = (this.now() - this.startedAt) / 1000;
    return seconds > 0 ? (this.current - this.startValue) / seconds : 0;
  }

  /** Seconds left at the current rate; undefined without a total or rate. */
  eta(): number | undefined {
    const r = this.rate();
    if (!(this.total > 0) || !(r > 0)) return undefined;
    return Math.max(0, (this.total - this.current) / r);
  }

  private amount(n: number): string {
    return this.unit === "bytes" ? formatBytes(n) : String(n);
  }

  /** The status text without control characters (also what non-TTY lines print). */
  render(): string {
    const parts = [this.label];
    const hasTotal = this.total > 0;
    if (hasTotal) {
      const fraction = Math.min(1, this.current / this.total);
      if (this.tty) {
        const filled = Math.round(fraction * this.width);
        parts.push(`[${"#".repeat(filled)}${"-".repeat(this.width - filled)}]`);
      }
      parts.push(`${(fraction * 100).toFixed(0).padStart(3)}%`);
      parts.push(`${this.amount(this.current)}/${this.amount(this.total)}`);
    } else {
      parts.push(this.amount(this.current));
    }
    const r = this.rate();
    parts.push(
      this.unit === "bytes" ? `${formatBytes(r)}/s` : `${r.toFixed(1)} ${this.itemName}/s`,
    );
    const eta = this.eta();
    if (eta !== undefined) parts.push(`ETA ${formatDuration(eta)}`);
    if (this.postfix) parts.push(this.postfix);
    return parts.join(" ");
  }

  /** Sets the absolute count and redraws when due. */
  update(current: number): void {
    this.current = current;
    this.maybeDraw();
  }

  /** Adds to the count and redraws when due. */
  increment(delta = 1): void {
    this.update(this.current + delta);
  }

  private maybeDraw(): void {
    if (this.finished) return;
    const t = this.now();
    if (this.tty) {
      if (t - this.lastDrawAt >= this.redrawMs) {
        this.lastDrawAt = t;
        this.write(`\r\x1b[2K${this.render()}`);
      }
      return;
    }
    // Plain output: one line per lineIntervalMs, so short tasks print only their final line.
    if (t - this.lastLineAt >= this.lineIntervalMs) {
      this.lastLineAt = t;
      this.write(`${this.render()}\n`);
    }
  }

  /** Draws the final state once and ends the line; `note` is appended (e.g. "done"). */
  finish(note?: string): void {
    if (this.finished) return;
    this.finished = true;
    const text = note ? `${this.render()} ${note}` : this.render();
    this.write(this.tty ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}
