/**
 * `deno task tune`: times the candidate register tiles of the matmul and convolution kernels on
 * this machine's GPU and writes the fastest per problem class where the runtime reads them
 * (gpu/webgpu/tuned-tiles.ts), so every later run on this adapter uses them. Each candidate is
 * first checked against the built-in tile's result; one that disagrees is reported, never
 * chosen. GPU time comes from timestamp queries where the adapter has them (wall time of the
 * launches and one read-back otherwise). Prints a Markdown table of every candidate.
 *
 *   deno task tune [--quick] [--reps N] [--out FILE]
 *
 * --quick: small problems and one timed launch, for a rehearsal on the software adapter (which
 * never uses these tiles itself). --out: where to write (default: the runtime's path).
 */

import { parseArgs } from "node:util";
import type { Conv2dParams, MatmulParams } from "../gpu/types.ts";
import { conv2d } from "../gpu/webgpu/conv.ts";
import { HARDWARE_SHAPES, hardwareTile, tileDefines } from "../gpu/webgpu/conv-tile.ts";
import { createGpuRuntime } from "../gpu/webgpu/device.ts";
import { checkConfig, type TileConfig as MatmulTile } from "../gpu/webgpu/matmul-codegen.ts";
import { chooseTiles, matmulWith } from "../gpu/webgpu/matmul.ts";
import type { GpuStorage } from "../gpu/webgpu/runtime.ts";
import {
  adapterKey,
  type ConvBucket,
  type ConvShape,
  type MatmulBucket,
  type TunedTiles,
  tunedTilesPath,
} from "../gpu/webgpu/tuned-tiles.ts";
import { writeTextFileAtomic } from "../nn/atomic-file.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    out: { type: "string" },
  },
});
const quick = values.quick;
const reps = Number(values.reps ?? (quick ? 1 : 5));
if (!(reps >= 1)) throw new Error(`--reps needs a positive count, got ${values.reps}`);

/** --quick times the first few candidates of a class: the built-in tile and its neighbours. */
const rehearsal = <T>(candidates: T[]): T[] => quick ? candidates.slice(0, 4) : candidates;

/** Candidates: the built-in tile first (the reference the others must agree with). */
const MATMUL_CANDIDATES: MatmulTile[] = [
  [16, 16, 4, 4, 16],
  [16, 16, 8, 8, 8],
  [16, 16, 8, 8, 16],
  [16, 16, 4, 8, 16],
  [16, 16, 8, 4, 16],
  [8, 8, 8, 8, 8],
  [16, 8, 8, 8, 8],
].flatMap(([wgx, wgy, tm, tn, kb]) =>
  [true, false].map((prefetch) => ({ wgx, wgy, tm, tn, kb, stageA: true, stageB: true, prefetch }))
);

function describeMatmul(c: MatmulTile): string {
  const staged = c.stageA && c.stageB
    ? ""
    : `, staged ${c.stageA ? "A" : ""}${c.stageB ? "B" : ""}`;
  return `${c.wgx}x${c.wgy} invocations, ${c.tm}x${c.tn} each, k ${c.kb}${staged}${
    c.prefetch ? ", prefetch" : ""
  }`;
}

const CONV_CANDIDATES: ConvShape[] = [4, 8].flatMap((tm) =>
  [4, 8].flatMap((tn) =>
    [16, 8].flatMap((tk) => [true, false].map((prefetch) => ({ tm, tn, tk, prefetch })))
  )
);

function describeConv(s: ConvShape): string {
  return `${s.tm}x${s.tn} each, k ${s.tk}${s.prefetch ? ", prefetch" : ""}`;
}

const mm = (m: number, n: number, k: number): MatmulParams => ({
  batch: 1,
  m,
  n,
  k,
  transA: false,
  transB: false,
  aBatchStride: 0,
  bBatchStride: 0,
});

const MATMUL_SHAPES: Record<MatmulBucket, MatmulParams> = quick
  ? { large: mm(512, 512, 64), default: mm(64, 128, 32) }
  : { large: mm(2048, 2048, 2048), default: mm(256, 2048, 1024) };

function conv(n: number, c: number, h: number, o: number, groups: number): Conv2dParams {
  const sym = { strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1 };
  return { n, c, h, w: h, o, kh: 3, kw: 3, ...sym, groups, oh: h, ow: h };
}

/** Forward convolutions whose GEMM (pixels x channels per group) falls in each class. */
const CONV_SHAPES: Record<ConvBucket, Conv2dParams> = quick
  ? { big: conv(2, 8, 64, 72, 1), narrow: conv(2, 32, 9, 32, 4), default: conv(1, 16, 16, 32, 1) }
  : {
    big: conv(32, 128, 28, 128, 1),
    narrow: conv(32, 256, 56, 256, 32),
    default: conv(16, 64, 56, 64, 1),
  };

const rt = await createGpuRuntime("high-performance", { tiles: "hardware", tuned: null });
const key = adapterKey(rt.adapter.description, rt.adapter.vendor);
if (rt.adapter.isSoftware && !quick) {
  console.error(`${key} is a software adapter, which uses its own tiles: nothing to tune`);
  Deno.exit(1);
}
const timestamps = await rt.startProfile().then(() => rt.stopProfile()).then(
  () => true,
  () => false,
);
const workgroupBytes = rt.device.limits.maxComputeWorkgroupStorageSize;

function random(length: number, seed: number): GpuStorage {
  const data = new Float32Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return rt.upload(data);
}

/** Seconds per launch: GPU time of `reps` launches, after one that compiles. */
async function time(launch: () => GpuStorage): Promise<{ seconds: number; out: Float32Array }> {
  const first = launch();
  const out = (await rt.readMany([first]))[0] as Float32Array;
  rt.release(first);
  const t0 = performance.now();
  if (timestamps) await rt.startProfile();
  for (let i = 0; i < reps; i++) rt.release(launch());
  if (timestamps) {
    const kernels = await rt.stopProfile();
    return { seconds: kernels.reduce((s, k) => s + k.seconds, 0) / reps, out };
  }
  const last = launch();
  await rt.readMany([last]);
  rt.release(last);
  return { seconds: (performance.now() - t0) / 1000 / (reps + 1), out };
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / Math.max(scale, 1e-30);
}

interface Row {
  family: string;
  bucket: string;
  shape: string;
  tile: string;
  seconds: number | null;
  gflops: number | null;
  note: string;
}

const tuned: TunedTiles = {
  adapter: key,
  measured: `${new Date().toISOString()}, Deno ${Deno.version.deno}`,
  matmul: {},
  conv: {},
};

const rows: Row[] = [];

const path = values.out ?? tunedTilesPath();
if (!path) {
  console.error("no place to write the tiles (set SDU_TILES_FILE or HOME, or pass --out)");
  Deno.exit(1);
}
console.log(
  `Tile tuning on ${key} (${
    timestamps ? "GPU timestamps" : "wall time"
  }, ${reps} timed launch(es) each)`,
);
console.log("");
console.log("| kernel | class | problem | tile | time per launch | GFLOP/s | |");
console.log("| --- | --- | --- | --- | ---: | ---: | --- |");

/**
 * Prints a finished class's rows and saves every winner so far: a run stopped at its time limit
 * (tools/device-bench.sh gives the tuner one) keeps the classes it measured.
 */
async function finishClass(family: string, bucket: string): Promise<void> {
  for (const r of rows.filter((r) => r.family === family && r.bucket === bucket)) {
    const t = r.seconds === null ? "—" : `${(r.seconds * 1e3).toPrecision(3)} ms`;
    const g = r.gflops === null ? "—" : r.gflops.toFixed(0);
    console.log(`| ${r.family} | ${r.bucket} | ${r.shape} | ${r.tile} | ${t} | ${g} | ${r.note} |`);
  }
  await writeTextFileAtomic(path!, JSON.stringify(tuned, null, 2) + "\n");
}

/** Times every candidate of one class and returns the fastest that agrees with the first. */
async function tuneClass<T>(
  family: string,
  bucket: string,
  shape: string,
  flops: number,
  candidates: T[],
  describe: (t: T) => string,
  invalid: (t: T) => string | null,
  launch: (t: T) => GpuStorage,
): Promise<T> {
  let best: { t: T; seconds: number } | null = null;
  let reference: Float32Array | null = null;
  for (const t of candidates) {
    const row: Row = {
      family,
      bucket,
      shape,
      tile: describe(t),
      seconds: null,
      gflops: null,
      note: "",
    };
    rows.push(row);
    const why = invalid(t);
    if (why) {
      row.note = why;
      continue;
    }
    try {
      const { seconds, out } = await time(() => launch(t));
      if (reference) {
        const err = maxRelativeError(out, reference);
        if (!(err <= 1e-4)) {
          row.note = `disagrees with the built-in tile (relative error ${err.toExponential(1)})`;
          continue;
        }
      } else reference = out;
      row.seconds = seconds;
      row.gflops = flops / seconds / 1e9;
      if (!best || seconds < best.seconds) best = { t, seconds };
    } catch (err) {
      row.note = `failed: ${(err as Error).message.split("\n")[0]}`;
    }
  }
  if (!best) throw new Error(`${family} ${bucket}: no candidate ran (see the table)`);
  rows.filter((r) => r.family === family && r.bucket === bucket && r.tile === describe(best.t))
    .forEach((r) => r.note = r.note || "chosen");
  return best.t;
}

for (const [bucket, p] of Object.entries(MATMUL_SHAPES) as [MatmulBucket, MatmulParams][]) {
  const a = random(p.m * p.k, 1);
  const b = random(p.k * p.n, 2);
  const builtIn = chooseTiles(false, p);
  const candidates = rehearsal([
    builtIn,
    ...MATMUL_CANDIDATES.filter((c) => describeMatmul(c) !== describeMatmul(builtIn)),
  ]);
  tuned.matmul[bucket] = await tuneClass(
    "matmul",
    bucket,
    `${p.m}x${p.n}x${p.k}`,
    2 * p.m * p.n * p.k,
    candidates,
    describeMatmul,
    (c) => {
      try {
        checkConfig(c);
      } catch (err) {
        return (err as Error).message;
      }
      const bytes = 16 * (c.wgy * c.tm + c.wgx * c.tn) * (c.kb / 4);
      return bytes > workgroupBytes ? `needs ${bytes} B of workgroup memory` : null;
    },
    (c) => matmulWith(rt, a, b, p, c),
  );
  rt.release(a);
  rt.release(b);
  await finishClass("matmul", bucket);
}

for (const [bucket, p] of Object.entries(CONV_SHAPES) as [ConvBucket, Conv2dParams][]) {
  const x = random(p.n * p.c * p.h * p.w, 3);
  const w = random(p.o * (p.c / p.groups) * p.kh * p.kw, 4);
  const channels = p.o / p.groups;
  tuned.conv[bucket] = await tuneClass(
    "conv",
    bucket,
    `N${p.n} C${p.c} ${p.h}² O${p.o}${p.groups > 1 ? ` g${p.groups}` : ""} 3x3`,
    2 * p.n * p.o * p.oh * p.ow * (p.c / p.groups) * 9,
    rehearsal(orderedConvCandidates(bucket)),
    describeConv,
    (s) => {
      try {
        tileDefines(hardwareTile(channels, bucket, s));
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    },
    (s) => {
      rt.adapter.tuned = { ...tuned, conv: { [bucket]: s } };
      return conv2d(rt, x, w, p);
    },
  );
  rt.adapter.tuned = null;
  rt.release(x);
  rt.release(w);
  await finishClass("conv", bucket);
}

/** The built-in shape of the class first, so the others are checked against it. */
function orderedConvCandidates(bucket: ConvBucket): ConvShape[] {
  const builtIn = HARDWARE_SHAPES[bucket];
  return [builtIn, ...CONV_CANDIDATES.filter((s) => describeConv(s) !== describeConv(builtIn))];
}

console.log("");
console.log(`wrote ${path}`);
Deno.exit(0);
