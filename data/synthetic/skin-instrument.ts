/**
 * Eight synthetic "instruments": the camera-side look of a dermoscope, standing in for the
 * study's instrument proxy (the eight most common ISIC image sizes).
 *
 * Each style is a deterministic per-image transform applied after the scene is drawn: colour
 * casts, vignetting, blur and the black ring of a contact dermoscope, alone and combined. Styles
 * 0..3 form the "first half" and 4..7 the "second half" that the training set associates with
 * malignancy under a positive instrument correlation.
 *
 * @module
 */
import type { Canvas } from "./raster.ts";
import { smoothstep } from "./raster.ts";

/** One style's ingredients. */
interface Style {
  name: string;
  gain: [number, number, number];
  bias: [number, number, number];
  vignette: number;
  /** Box-blur radius in pixels at 64 px (scaled with the image side). */
  blur: number;
  /** Radius of the dermoscope ring as a fraction of the side (0 = none). */
  ring: number;
}

/** A style of these gain and bias, with no vignette, blur or ring unless `look` sets them. */
const style = (
  name: string,
  gain: Style["gain"],
  bias: Style["bias"],
  look: Partial<Pick<Style, "vignette" | "blur" | "ring">> = {},
): Style => ({ name, gain, bias, vignette: 0, blur: 0, ring: 0, ...look });

const UNIT: Style["gain"] = [1, 1, 1];
const NONE: Style["bias"] = [0, 0, 0];

const STYLES: readonly Style[] = [
  style("neutral", UNIT, NONE),
  style("warm cast", [1.08, 0.97, 0.82], [0.02, 0, 0]),
  style("cool cast", [0.86, 0.97, 1.1], [0, 0, 0.03]),
  style("vignette", UNIT, NONE, { vignette: 0.55 }),
  style("soft focus", [0.92, 0.92, 0.92], [0.04, 0.04, 0.04], { blur: 1 }),
  style("dermoscope ring", UNIT, NONE, { ring: 0.47 }),
  style("ring + warm", [1.05, 0.95, 0.85], NONE, { vignette: 0.2, ring: 0.44 }),
  style("blur + cool vignette", [0.9, 1.02, 0.95], [0, 0.01, 0.02], { vignette: 0.35, blur: 1 }),
];

/** Number of instrument styles (the study's --num-aux 8). */
export const INSTRUMENT_COUNT = STYLES.length;

/** Human-readable style names, by instrument index. */
export const INSTRUMENT_NAMES: readonly string[] = STYLES.map((s) => s.name);

/** Blur radius in pixels that `style` uses at this image side (0 when it does not blur). */
export function instrumentBlurRadius(style: number, size: number): number {
  const b = STYLES[style].blur;
  return b === 0 ? 0 : Math.max(1, Math.round((b * size) / 64));
}

/** One box-blur line: `n` samples at `stride` from `src` into `dst` (running sums). */
function blurLine(
  src: Float32Array,
  so: number,
  dst: Float32Array,
  dOff: number,
  stride: number,
  n: number,
  radius: number,
): void {
  let sum = 0;
  for (let i = 0; i <= Math.min(n - 1, radius); i++) sum += src[so + i * stride];
  const inner = 1 / (2 * radius + 1);
  for (let i = 0; i < n; i++) {
    const full = i >= radius && i + radius < n;
    dst[dOff + i * stride] = full
      ? sum * inner
      : sum / (Math.min(n - 1, i + radius) - Math.max(0, i - radius) + 1);
    if (i + radius + 1 < n) sum += src[so + (i + radius + 1) * stride];
    if (i - radius >= 0) sum -= src[so + (i - radius) * stride];
  }
}

/** Box blur of radius r (edges average over the pixels that exist). */
function boxBlur(canvas: Canvas, radius: number): void {
  const { size, data } = canvas;
  const plane = size * size;
  const tmp = new Float32Array(plane);
  for (let c = 0; c < 3; c++) {
    const o = c * plane;
    for (let y = 0; y < size; y++) blurLine(data, o + y * size, tmp, y * size, 1, size, radius);
    for (let x = 0; x < size; x++) blurLine(tmp, x, data, o + x, size, size, radius);
  }
}

const factorCache = new Map<string, Float32Array>();

/** Per-pixel light factor (vignette times ring) of a style at a size; cached. */
function lightFactor(s: Style, style: number, size: number): Float32Array {
  const key = `${style}:${size}`;
  const hit = factorCache.get(key);
  if (hit) return hit;
  const f = new Float32Array(size * size);
  const half = size / 2;
  const corner = Math.SQRT2 * half;
  const edge = 1.5 / size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - half, dy = y + 0.5 - half;
      const d = Math.sqrt(dx * dx + dy * dy);
      let v = 1 - s.vignette * (d / corner) * (d / corner);
      if (s.ring > 0) {
        // Outside the ring almost no light: a faint residue keeps the scene, as real rings do.
        const inside = 1 - smoothstep(s.ring - edge, s.ring + edge, d / size);
        v *= 0.04 + 0.96 * inside;
      }
      f[y * size + x] = v;
    }
  }
  if (factorCache.size > 64) factorCache.clear();
  factorCache.set(key, f);
  return f;
}

/** Applies instrument `style` to the canvas in place and clamps it to [0,1]. */
export function applyInstrument(canvas: Canvas, style: number): void {
  if (!Number.isInteger(style) || style < 0 || style >= STYLES.length) {
    throw new Error(`instrument style must be 0..${STYLES.length - 1}, got ${style}`);
  }
  const s = STYLES[style];
  const { size, data } = canvas;
  const plane = size * size;
  const blur = instrumentBlurRadius(style, size);
  if (blur > 0) boxBlur(canvas, blur);
  const f = lightFactor(s, style, size);
  for (let c = 0; c < 3; c++) {
    const g = s.gain[c], b = s.bias[c], o = c * plane;
    for (let p = 0; p < plane; p++) {
      const v = (data[o + p] * g + b) * f[p];
      data[o + p] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}
