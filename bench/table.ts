/**
 * Renders the benchmark as one aligned Markdown table: a value column per backend (ours, then
 * the peers), then ratio columns that pair each peer with our like-for-like backend. Every cell
 * that holds no number says why in a numbered footnote, so a missing peer never reads as zero.
 */

import type { RowProfile } from "./gpu-profile.ts";
import type { Measurement } from "./measure.ts";
import { higherIsBetter, valueOf, type WorkloadSpec } from "./specs.ts";

export interface Column {
  name: string;
  /** Version, backend, device: listed under the table. */
  info: string;
  rows: Map<string, Measurement>;
  /** Set when the column could not run at all. */
  unavailable?: string;
  /** True for our own backends (they are the numerators of the ratios). */
  ours?: boolean;
  /** `--profile`: each row's profiled call, or why there is none (webgpu only). */
  profiles?: Map<string, RowProfile | string>;
}

/** Ratio columns: ours / peer; "best" is the fastest of our columns in the row. */
interface RatioPair {
  ours: string;
  peer: string;
}

const OUR_COUNTERPART: Record<string, string[]> = {
  "tfjs-webgpu": ["webgpu"],
  "tfjs-cpu": ["cpu", "cpu-wasm", "cpu-reference"],
  "torch-cpu": ["cpu", "cpu-wasm", "cpu-reference"],
  "torch-cuda": ["webgpu"],
  "torch-cuda-amp": ["webgpu", "webgpu-f16"],
};

function ratioPairs(columns: Column[]): RatioPair[] {
  const ours = new Set(columns.filter((c) => c.ours && !c.unavailable).map((c) => c.name));
  const pairs: RatioPair[] = [];
  for (const peer of columns.filter((c) => !c.ours && !c.unavailable)) {
    // Every fast counterpart gets a ratio; the reference only when it is the sole one.
    const mine = (OUR_COUNTERPART[peer.name] ?? []).filter((n) => ours.has(n));
    const shown = mine.length > 1 ? mine.filter((n) => n !== "cpu-reference") : mine;
    for (const n of shown) pairs.push({ ours: n, peer: peer.name });
  }
  if (ours.size > 1 && columns.some((c) => c.name === "torch-cpu" && !c.unavailable)) {
    pairs.push({ ours: "best", peer: "torch-cpu" });
  }
  return pairs;
}

/** Three significant digits without exponents. */
export function formatValue(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a >= 0.01) return v.toFixed(3);
  return v.toExponential(2);
}

class Footnotes {
  readonly list: string[] = [];
  mark(text: string): string {
    let i = this.list.indexOf(text);
    if (i < 0) i = this.list.push(text) - 1;
    return `[${i + 1}]`;
  }
}

function value(spec: WorkloadSpec, col: Column | undefined): number | null {
  const m = col?.rows.get(spec.id);
  return m?.kind === "ok" ? valueOf(spec, m.seconds) : null;
}

function cellText(spec: WorkloadSpec, col: Column, notes: Footnotes): string {
  if (col.unavailable) return `n/a ${notes.mark(`${col.name}: ${col.unavailable}`)}`;
  const m = col.rows.get(spec.id);
  if (!m) return "—";
  if (m.kind === "ok") return formatValue(valueOf(spec, m.seconds));
  if (m.kind === "skipped") {
    return `skipped (slow) ${notes.mark(`${col.name}, ${spec.id}: ${m.reason}`)}`;
  }
  return `error ${notes.mark(`${col.name}, ${spec.id}: ${m.reason}`)}`;
}

/** Speed-up of ours over the peer (> 1: ours faster), whatever way the unit points. */
function ratioText(spec: WorkloadSpec, pair: RatioPair, columns: Column[]): string {
  const byName = (n: string) => columns.find((c) => c.name === n);
  const peer = value(spec, byName(pair.peer));
  let mine: number | null;
  if (pair.ours === "best") {
    const vals = columns.filter((c) => c.ours).map((c) => value(spec, c)).filter((v) =>
      v !== null
    ) as number[];
    mine = vals.length ? (higherIsBetter(spec) ? Math.max(...vals) : Math.min(...vals)) : null;
  } else mine = value(spec, byName(pair.ours));
  if (mine === null || peer === null) return "—";
  const r = higherIsBetter(spec) ? mine / peer : peer / mine;
  return `${formatValue(r)}×`;
}

function align(rows: string[][], leftColumns: number): string {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => [...r[j]].length)));
  const pad = (s: string, j: number) => {
    const fill = " ".repeat(widths[j] - [...s].length);
    return j < leftColumns ? s + fill : fill + s;
  };
  const line = (r: string[]) => `| ${r.map(pad).join(" | ")} |`;
  const rule = widths.map((w, j) =>
    j < leftColumns ? "-".repeat(w) : "-".repeat(Math.max(1, w - 1)) + ":"
  );
  return [line(rows[0]), `| ${rule.join(" | ")} |`, ...rows.slice(1).map(line)].join("\n");
}

/** The table and its footnotes; ratio columns only where both sides ran. */
export function renderTable(specs: readonly WorkloadSpec[], columns: Column[]): string {
  const notes = new Footnotes();
  const pairs = ratioPairs(columns);
  const header = [
    "workload",
    "unit",
    ...columns.map((c) => c.name),
    ...pairs.map((p) => `${p.ours} ÷ ${p.peer}`),
  ];
  const body = specs.map((spec) => [
    spec.label,
    spec.unit,
    ...columns.map((c) => cellText(spec, c, notes)),
    ...pairs.map((p) => ratioText(spec, p, columns)),
  ]);
  const lines = [align([header, ...body], 2)];
  if (body.some((r) => r.includes("—"))) {
    lines.push(
      "",
      "— : not measured (the column does not time that row, or a ratio lacks a side).",
    );
  }
  if (pairs.length) {
    lines.push("", "Ratios are speed-ups of ours over the peer (> 1: ours faster; for s/epoch the");
    lines.push('inverse ratio of seconds). "best" is the fastest of our columns in that row.');
  }
  if (notes.list.length) lines.push("", ...notes.list.map((n, i) => `[${i + 1}] ${n}`));
  return lines.join("\n");
}

/** The second, small table of image-decoding throughput. */
export function renderDecodeTable(rows: { name: string; imagesPerSecond: number }[]): string {
  return align([
    ["decode", "images/s"],
    ...rows.map((r) => [r.name, formatValue(r.imagesPerSecond)]),
  ], 1);
}
