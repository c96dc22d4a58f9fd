/**
 * Procedural skin lesions on skin-toned backgrounds: the label-carrying part of the synthetic
 * skin benchmark.
 *
 * Malignancy follows the dermatologists' ABC rule of thumb through one latent "atypia" score per
 * lesion, drawn around 0.28 for benign and 0.68 for malignant lesions with overlapping spread:
 * higher atypia gives more asymmetry, a more irregular and sharper border, and more colours
 * (black, blue-grey, red, white regression areas). The overlap keeps the true task learnable but
 * imperfect, so that a spurious artefact correlated with the label is a tempting shortcut.
 *
 * @module
 */
import type { Rng } from "../rng.ts";
import {
  type Canvas,
  clamp01,
  grainNoiseTexture,
  NOISE_SIZE,
  sampleTexture,
  smoothNoiseTexture,
  smoothstep,
} from "./raster.ts";

type RGB = [number, number, number];

/** Skin tones from very light to very dark (roughly Fitzpatrick I..VI). */
const SKIN_TONES: readonly RGB[] = [
  [0.96, 0.84, 0.76],
  [0.93, 0.76, 0.65],
  [0.85, 0.65, 0.52],
  [0.72, 0.52, 0.38],
  [0.55, 0.38, 0.26],
  [0.4, 0.27, 0.19],
];

const BROWNS: readonly RGB[] = [[0.62, 0.42, 0.28], [0.46, 0.29, 0.18], [0.3, 0.18, 0.11]];
/** Extra colours of atypical lesions: dark brown, black, blue-grey, red, white (regression). */
const VARIEGATION: readonly RGB[] = [
  [0.22, 0.12, 0.08],
  [0.08, 0.06, 0.06],
  [0.36, 0.4, 0.52],
  [0.68, 0.28, 0.26],
  [0.86, 0.8, 0.78],
];

/** Angular resolution of the border-radius table. */
const ANGLES = 128;

/** Everything needed to draw one lesion; sampled once, rendered any number of times. */
export interface LesionSpec {
  malignant: boolean;
  atypia: number;
  skin: RGB;
  /** Offsets into the noise textures. */
  noiseX: number;
  noiseY: number;
  /** Centre and mean radius as fractions of the image side. */
  cx: number;
  cy: number;
  radius: number;
  /** Border radius (relative to `radius`) per angle bin. */
  border: Float32Array;
  /** Border softness as a fraction of the radius. */
  softness: number;
  base: RGB;
  opacity: number;
  /** Variegation blobs: colour, centre (in lesion radii from the centre), spread, strength. */
  blobs: { colour: RGB; x: number; y: number; spread: number; strength: number }[];
  texture: number;
}

function jitter(rng: Rng, c: RGB, amount: number): RGB {
  return [
    clamp01(c[0] + rng.uniform(-amount, amount)),
    clamp01(c[1] + rng.uniform(-amount, amount)),
    clamp01(c[2] + rng.uniform(-amount, amount)),
  ];
}

function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Draws a lesion of the given class. */
export function sampleLesion(rng: Rng, malignant: boolean): LesionSpec {
  const atypia = clamp01(rng.normal(malignant ? 0.68 : 0.28, 0.14));
  const t = rng.uniform(0, SKIN_TONES.length - 1);
  const lo = Math.floor(t);
  const skin = jitter(rng, mix(SKIN_TONES[lo], SKIN_TONES[Math.min(lo + 1, 5)], t - lo), 0.025);
  // Border: ellipticity for everyone, asymmetry (k=1) and irregularity (k>=3) grow with atypia.
  const terms: { k: number; amp: number; phase: number }[] = [
    { k: 2, amp: rng.uniform(0, 0.14), phase: rng.uniform(0, 2 * Math.PI) },
    { k: 1, amp: (0.02 + 0.2 * atypia) * rng.uniform(0.5, 1), phase: rng.uniform(0, 2 * Math.PI) },
  ];
  const nIrregular = 1 + Math.round(atypia * 6);
  for (let j = 0; j < nIrregular; j++) {
    const k = 3 + rng.int(8);
    terms.push({
      k,
      amp: (0.01 + 0.16 * atypia) * rng.uniform(0.3, 1) / Math.sqrt(nIrregular),
      phase: rng.uniform(0, 2 * Math.PI),
    });
  }
  const border = new Float32Array(ANGLES);
  for (let a = 0; a < ANGLES; a++) {
    const th = (a / ANGLES) * 2 * Math.PI;
    let r = 1;
    for (const term of terms) r += term.amp * Math.cos(term.k * th + term.phase);
    border[a] = Math.max(0.35, r);
  }
  const baseBrown = BROWNS[rng.int(BROWNS.length)];
  const darkSkin = skin[0] + skin[1] + skin[2] < 1.5;
  const base = jitter(rng, darkSkin ? mix(baseBrown, [0.15, 0.09, 0.06], 0.5) : baseBrown, 0.04);
  const nBlobs = Math.max(0, Math.min(4, Math.round((atypia - 0.22) * 5 + rng.normal(0, 0.5))));
  const blobs = Array.from({ length: nBlobs }, () => {
    const ang = rng.uniform(0, 2 * Math.PI);
    const off = rng.uniform(0, 0.2 + 0.5 * atypia);
    return {
      colour: jitter(rng, VARIEGATION[rng.int(VARIEGATION.length)], 0.04),
      x: off * Math.cos(ang),
      y: off * Math.sin(ang),
      spread: rng.uniform(0.18, 0.4),
      strength: rng.uniform(0.5, 0.9),
    };
  });
  return {
    malignant,
    atypia,
    skin,
    noiseX: rng.int(4096),
    noiseY: rng.int(4096),
    cx: 0.5 + rng.uniform(-0.08, 0.08),
    cy: 0.5 + rng.uniform(-0.08, 0.08),
    radius: rng.uniform(0.15, 0.24) + 0.06 * atypia,
    border,
    softness: 0.22 - 0.16 * atypia + rng.uniform(-0.03, 0.03),
    base,
    opacity: rng.uniform(0.75, 0.95),
    blobs,
    texture: 0.03 + 0.05 * atypia,
  };
}

/** Renders skin and lesion onto `canvas` (overwrites it). */
export function renderLesion(spec: LesionSpec, canvas: Canvas): void {
  const { size, data } = canvas;
  const plane = size * size;
  const smooth = smoothNoiseTexture();
  const grain = grainNoiseTexture();
  const nx = spec.noiseX, ny = spec.noiseY;
  // Scale noise lookups so that texture features keep their size relative to the image.
  const step = 64 / size;
  const M = NOISE_SIZE - 1;
  const col = new Int32Array(size);
  for (let x = 0; x < size; x++) col[x] = Math.floor(x * step);
  for (let y = 0; y < size; y++) {
    const ty = Math.floor(y * step);
    const rowShade = ((ny + ty) & M) * NOISE_SIZE;
    const rowRed = ((ny + 31 + ty) & M) * NOISE_SIZE;
    const rowGrain = ((ny + y) & M) * NOISE_SIZE;
    for (let x = 0; x < size; x++) {
      const tx = col[x];
      const shade = 1 + 0.05 * smooth[rowShade + ((nx + tx) & M)];
      const redness = 0.03 * smooth[rowRed + ((nx + 97 + tx) & M)];
      const g = 0.012 * grain[rowGrain + ((nx + x) & M)];
      const p = y * size + x;
      data[p] = spec.skin[0] * shade + redness + g;
      data[plane + p] = spec.skin[1] * shade - 0.5 * redness + g;
      data[2 * plane + p] = spec.skin[2] * shade - 0.5 * redness + g;
    }
  }
  const rPix = spec.radius * size;
  let maxBorder = 0, minBorder = Infinity;
  for (const b of spec.border) {
    maxBorder = Math.max(maxBorder, b);
    minBorder = Math.min(minBorder, b);
  }
  const soft = Math.max(0.03, spec.softness);
  const reach = rPix * maxBorder * (1 + soft) + 2;
  const cx = spec.cx * size, cy = spec.cy * size;
  const x0 = Math.max(0, Math.floor(cx - reach)), x1 = Math.min(size - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach)), y1 = Math.min(size - 1, Math.ceil(cy + reach));
  // Inside this radius the border cannot be near: skip the angle lookup.
  const solid = minBorder * (1 - soft);
  const outside = maxBorder * (1 + soft);
  const nb = spec.blobs.length;
  const blob = new Float64Array(nb * 6);
  spec.blobs.forEach((b, j) => {
    blob.set([b.x, b.y, 1 / (2 * b.spread * b.spread), b.strength], j * 6);
  });
  const blobColour = spec.blobs.map((b) => b.colour);
  const invR = 1 / rPix;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      const d = Math.sqrt(dx * dx + dy * dy) * invR;
      if (d >= outside) continue;
      let alpha = spec.opacity;
      if (d >= solid) {
        const ang = (Math.atan2(dy, dx) / (2 * Math.PI) + 1) * ANGLES;
        const fa = Math.floor(ang), f = ang - fa, a0 = fa % ANGLES;
        const rb = spec.border[a0] * (1 - f) + spec.border[(a0 + 1) % ANGLES] * f;
        alpha *= 1 - smoothstep(1 - soft, 1 + soft, d / rb);
        if (alpha <= 0) continue;
      }
      const ux = dx * invR, uy = dy * invR;
      const darken = 1 - 0.18 * (1 - Math.min(1, d));
      let r = spec.base[0] * darken, g = spec.base[1] * darken, b = spec.base[2] * darken;
      for (let j = 0; j < nb; j++) {
        const ex = ux - blob[j * 6], ey = uy - blob[j * 6 + 1];
        const e2 = (ex * ex + ey * ey) * blob[j * 6 + 2];
        if (e2 > 6) continue;
        const w = blob[j * 6 + 3] * Math.exp(-e2);
        const col = blobColour[j];
        r += (col[0] - r) * w;
        g += (col[1] - g) * w;
        b += (col[2] - b) * w;
      }
      const tex = spec.texture * sampleTexture(grain, spec.noiseY + x * 3, spec.noiseX + y * 5);
      const p = y * size + x;
      data[p] += (r + tex - data[p]) * alpha;
      data[plane + p] += (g + tex - data[plane + p]) * alpha;
      data[2 * plane + p] += (b + tex - data[2 * plane + p]) * alpha;
    }
  }
}
