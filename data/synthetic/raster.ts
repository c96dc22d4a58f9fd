/**
 * Small software-rendering helpers for the procedural skin images: a planar RGB canvas on
 * [0,1], anti-aliased stroke coverage, and fixed noise textures.
 *
 * Noise comes from textures built once from a fixed seed and sampled at per-image offsets, which
 * is far cheaper than drawing random numbers per pixel and keeps images deterministic.
 *
 * @module
 */
import { Rng } from "../rng.ts";

/** A square planar RGB image (CHW, values on [0,1]) of side `size`. */
export interface Canvas {
  size: number;
  data: Float32Array;
}

/** A new black canvas. */
export function newCanvas(size: number): Canvas {
  return { size, data: new Float32Array(3 * size * size) };
}

/** Hermite smoothstep of x between e0 and e1. */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
}

/** Clamps to [0,1]. */
export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * Adds a round-capped stroke along the polyline `pts` (pixel coordinates, x/y interleaved) to a
 * coverage mask (size*size, values on [0,1], combined with max).
 */
export function strokeCoverage(
  mask: Float32Array,
  size: number,
  pts: readonly number[],
  width: number,
): void {
  const r = width / 2;
  for (let s = 0; s + 3 < pts.length; s += 2) {
    const ax = pts[s], ay = pts[s + 1], bx = pts[s + 2], by = pts[s + 3];
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - r - 1));
    const x1 = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + r + 1));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - r - 1));
    const y1 = Math.min(size - 1, Math.ceil(Math.max(ay, by) + r + 1));
    const dx = bx - ax, dy = by - ay;
    const len2 = dx * dx + dy * dy;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5 - ax, py = y + 0.5 - ay;
        const t = len2 > 0 ? Math.min(1, Math.max(0, (px * dx + py * dy) / len2)) : 0;
        const ex = px - t * dx, ey = py - t * dy;
        const cov = clamp01(r + 0.5 - Math.sqrt(ex * ex + ey * ey));
        const i = y * size + x;
        if (cov > mask[i]) mask[i] = cov;
      }
    }
  }
}

/** Side of the noise textures (a power of two so offsets wrap with a mask). */
export const NOISE_SIZE = 256;

let smoothNoise: Float32Array | null = null;
let grainNoise: Float32Array | null = null;

/** Value noise on [-1,1], smooth over ~16 px, wrapping; built once. */
export function smoothNoiseTexture(): Float32Array {
  if (smoothNoise) return smoothNoise;
  const rng = new Rng(0x5eed_0001);
  const cell = 16;
  const g = NOISE_SIZE / cell;
  const grid = Float32Array.from({ length: g * g }, () => rng.uniform(-1, 1));
  const tex = new Float32Array(NOISE_SIZE * NOISE_SIZE);
  for (let y = 0; y < NOISE_SIZE; y++) {
    const gy = y / cell, iy = Math.floor(gy), fy = smoothstep(0, 1, gy - iy);
    for (let x = 0; x < NOISE_SIZE; x++) {
      const gx = x / cell, ix = Math.floor(gx), fx = smoothstep(0, 1, gx - ix);
      const a = grid[iy * g + ix], b = grid[iy * g + ((ix + 1) % g)];
      const c = grid[((iy + 1) % g) * g + ix], d = grid[((iy + 1) % g) * g + ((ix + 1) % g)];
      tex[y * NOISE_SIZE + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
  }
  smoothNoise = tex;
  return tex;
}

/** Per-pixel white noise on [-1,1], wrapping; built once. */
export function grainNoiseTexture(): Float32Array {
  if (grainNoise) return grainNoise;
  const rng = new Rng(0x5eed_0002);
  grainNoise = Float32Array.from({ length: NOISE_SIZE * NOISE_SIZE }, () => rng.uniform(-1, 1));
  return grainNoise;
}

/** Samples a wrapping texture at integer coordinates. */
export function sampleTexture(tex: Float32Array, x: number, y: number): number {
  return tex[((y & (NOISE_SIZE - 1)) * NOISE_SIZE) + (x & (NOISE_SIZE - 1))];
}
