/**
 * The two scene artefacts of the synthetic skin benchmark: surgical-ink markings around the
 * lesion and a tick-marked ruler at an image edge.
 *
 * Geometry is sampled separately from drawing (in fractions of the image side), so the same
 * lesion index gets the same marking at any image size, and the plain / marked / ruler test
 * images of one lesion differ only where the artefact lies. Each draw call also accumulates the
 * artefact's coverage into a mask, used to check exactly that.
 *
 * @module
 */
import type { Rng } from "../rng.ts";
import { type Canvas, clamp01, strokeCoverage } from "./raster.ts";
import type { LesionSpec } from "./skin-lesion.ts";

type RGB = [number, number, number];

/** Ink markings: strokes, dots or a circle drawn by a clinician around the lesion. */
export interface MarkingSpec {
  kind: "circle" | "dots" | "strokes";
  ink: RGB;
  opacity: number;
  /** Stroke width as a fraction of the image side. */
  width: number;
  /** Polylines, x/y interleaved, in fractions of the image side. */
  paths: number[][];
}

/** A ruler strip along one image edge. */
export interface RulerSpec {
  /** 0 top, 1 bottom, 2 left, 3 right. */
  edge: number;
  offset: number;
  thickness: number;
  from: number;
  to: number;
  /** Tilt in radians. */
  tilt: number;
  spacing: number;
  phase: number;
  colour: RGB;
  opacity: number;
}

/** Samples a marking placed around `lesion`. */
export function sampleMarking(rng: Rng, lesion: LesionSpec): MarkingSpec {
  const kinds = ["circle", "dots", "strokes"] as const;
  const kind = kinds[rng.int(3)];
  const ink: RGB = [rng.uniform(0.28, 0.42), rng.uniform(0.1, 0.22), rng.uniform(0.45, 0.62)];
  const R = lesion.radius * rng.uniform(1.45, 1.8);
  const { cx, cy } = lesion;
  const paths: number[][] = [];
  let width = rng.uniform(0.014, 0.026);
  if (kind === "circle") {
    const start = rng.uniform(0, 2 * Math.PI);
    const span = rng.uniform(0.6, 1.0) * 2 * Math.PI;
    const aspect = rng.uniform(0.85, 1.15);
    const wobble = rng.uniform(0, 0.06), wobbleK = 2 + rng.int(4);
    const pts: number[] = [];
    const steps = 48;
    for (let s = 0; s <= steps; s++) {
      const a = start + (span * s) / steps;
      const r = R * (1 + wobble * Math.sin(wobbleK * a));
      pts.push(cx + r * Math.cos(a) * aspect, cy + (r * Math.sin(a)) / aspect);
    }
    paths.push(pts);
  } else if (kind === "dots") {
    width = rng.uniform(0.03, 0.045);
    const n = 3 + rng.int(5);
    const start = rng.uniform(0, 2 * Math.PI);
    for (let k = 0; k < n; k++) {
      const a = start + (2 * Math.PI * k) / n + rng.uniform(-0.2, 0.2);
      const x = cx + R * Math.cos(a), y = cy + R * Math.sin(a);
      paths.push([x, y, x, y]);
    }
  } else {
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) {
      const a = rng.uniform(0, 2 * Math.PI);
      const len = rng.uniform(0.12, 0.28);
      const dir = a + Math.PI / 2 + rng.uniform(-0.5, 0.5);
      const mx = cx + R * Math.cos(a), my = cy + R * Math.sin(a);
      const bend = rng.uniform(-0.03, 0.03);
      const hx = (len / 2) * Math.cos(dir), hy = (len / 2) * Math.sin(dir);
      paths.push([
        mx - hx,
        my - hy,
        mx + bend * Math.cos(a),
        my + bend * Math.sin(a),
        mx + hx,
        my + hy,
      ]);
    }
  }
  return { kind, ink, opacity: rng.uniform(0.75, 0.95), width, paths };
}

/** Draws a marking onto the canvas and adds its coverage to `mask`. */
export function drawMarking(spec: MarkingSpec, canvas: Canvas, mask: Float32Array): void {
  const { size, data } = canvas;
  const plane = size * size;
  const cov = new Float32Array(plane);
  const widthPx = Math.max(1, spec.width * size);
  for (const path of spec.paths) strokeCoverage(cov, size, path.map((v) => v * size), widthPx);
  for (let p = 0; p < plane; p++) {
    const a = cov[p];
    if (a <= 0) continue;
    // Ink soaks into the skin: darker where the skin beneath is darker.
    const lum = 0.3 * data[p] + 0.59 * data[plane + p] + 0.11 * data[2 * plane + p];
    const k = a * spec.opacity, shade = 0.6 + 0.4 * lum;
    for (let c = 0; c < 3; c++) {
      const q = c * plane + p;
      data[q] += (spec.ink[c] * shade - data[q]) * k;
    }
    if (a > mask[p]) mask[p] = a;
  }
}

/** Samples a ruler. */
export function sampleRuler(rng: Rng): RulerSpec {
  const from = rng.uniform(0, 0.25);
  const yellow = rng.bernoulli(0.3);
  return {
    edge: rng.int(4),
    offset: rng.uniform(0.02, 0.07),
    thickness: rng.uniform(0.09, 0.14),
    from,
    to: Math.min(1, from + rng.uniform(0.6, 1)),
    tilt: rng.uniform(-0.12, 0.12),
    spacing: rng.uniform(0.035, 0.055),
    phase: rng.float(),
    colour: yellow ? [0.93, 0.88, 0.62] : [0.94, 0.94, 0.92],
    opacity: rng.uniform(0.82, 0.95),
  };
}

/** Draws a ruler onto the canvas and adds its coverage to `mask`. */
export function drawRuler(spec: RulerSpec, canvas: Canvas, mask: Float32Array): void {
  const { size, data } = canvas;
  const plane = size * size;
  const slope = Math.tan(spec.tilt);
  const aa = 1 / size; // one pixel, in fractions of the side
  const tickHalf = Math.max(0.5, 0.006 * size) / size;
  // Only the band along the ruler's edge can be covered.
  const band = Math.min(
    size,
    Math.ceil((spec.offset + spec.thickness + Math.abs(slope) / 2) * size) + 2,
  );
  const xLo = spec.edge === 3 ? size - band : 0, xHi = spec.edge === 2 ? band : size;
  const yLo = spec.edge === 1 ? size - band : 0, yHi = spec.edge === 0 ? band : size;
  for (let y = yLo; y < yHi; y++) {
    for (let x = xLo; x < xHi; x++) {
      const fx = (x + 0.5) / size, fy = (y + 0.5) / size;
      const [u, v0] = spec.edge === 0
        ? [fx, fy]
        : spec.edge === 1
        ? [fx, 1 - fy]
        : spec.edge === 2
        ? [fy, fx]
        : [fy, 1 - fx];
      const v = v0 - (u - 0.5) * slope - spec.offset;
      const inV = Math.min(v, spec.thickness - v) / aa + 0.5;
      const inU = Math.min(u - spec.from, spec.to - u) / aa + 0.5;
      const strip = clamp01(Math.min(inV, inU));
      if (strip <= 0) continue;
      // Ticks hang from the outer edge: every fifth one longer.
      const k = Math.round((u - spec.phase * spec.spacing) / spec.spacing);
      const du = Math.abs(u - spec.phase * spec.spacing - k * spec.spacing);
      const len = (k % 5 === 0 ? 0.6 : 0.32) * spec.thickness;
      const tick = clamp01((tickHalf - du) / aa + 0.5) * clamp01((len - v) / aa + 0.5) * strip;
      const p = y * size + x;
      const a = strip * spec.opacity;
      for (let c = 0; c < 3; c++) {
        const q = c * plane + p;
        data[q] += (spec.colour[c] - data[q]) * a;
        data[q] += (0.08 - data[q]) * tick;
      }
      if (strip > mask[p]) mask[p] = strip;
    }
  }
}
