/**
 * `deno task bench`: the engine against its peers on the same machine (issues 2 and 4).
 * Rows: W1 matmul, W2 conv forward/backward, W3 ResNet-18 and W4 small-CNN training steps, the
 * Colored-MNIST epoch estimate and SD, an epoch of the demo's `train --dataset synth` CLGR run. Columns: our webgpu / cpu / cpu-wasm / cpu-reference backends,
 * TensorFlow.js (webgpu, cpu) and PyTorch CPU, then ratios. The table goes to stdout and to
 * results/bench/latest.md; progress goes to stderr.
 *
 * Options: --only W1,W4  --backends webgpu,cpu,cpu-wasm,cpu-reference (webgpu-f16 on request)
 * --peers tfjs-webgpu,tfjs-cpu,torch,torch-cuda,torch-cuda-amp (or none)  --quick  --budget SECONDS  --threads N  --out FILE  --tfjs-bundle FILE.js
 * --cached-only (passed on to the tfjs child process)  --profile (after each webgpu cell, one more
 * call under GPU timestamps: wall time against kernel time, and the kernels that took most;
 * bench/gpu-profile.ts)  --repeat N (the kernel rows launch N times per timed call and read back
 * the last result: their rate without one read-back's latency). Unknown flags are ignored with a
 * warning.
 *
 * The study's trunks (issue 13): `--model resnext101_32x8d[,efficientnet_b3,...] --image-size 256
 * --batch 8` times one training step of each (bench/trunk-rows.ts) instead of the rows above
 * (add `--only` to get those too), prints the device memory each column held after the first
 * and the last step, and by default runs our webgpu and cpu columns beside PyTorch on the CPU
 * and, where CUDA is present, on the GPU (FP32 with TF32 off, and TF32 with bfloat16 autocast), with 1 warm-up and 3 timed steps and
 * a 1800 s budget per cell. The cpu column's rows share one WASM heap (4 GiB at most): a later
 * row reuses what an earlier one left pooled, so its memory column counts that too; time large
 * trunks one per run for memory figures of their own.
 */

import { dirname } from "node:path";
import { runTfjsPeer } from "./peers/tfjs_column.ts";
import { runTorchPeer, TORCH_THREADS, type TorchDevice } from "./peers/torch.ts";
import {
  DEFAULT_BACKENDS,
  OUR_BACKENDS,
  type OurBackendName,
  REFERENCE_BUDGET_S,
  runOurColumn,
} from "./ours.ts";
import { logCell } from "./ours.ts";
import { renderProfiles } from "./gpu-profile.ts";
import { selectWorkloads, withRepeat, type WorkloadSpec } from "./specs.ts";
import { type Column, renderDecodeTable, renderTable } from "./table.ts";
import { renderMemoryTable, trunkSpecs } from "./trunk-rows.ts";

const PEERS = ["tfjs-webgpu", "tfjs-cpu", "torch-cpu", "torch-cuda", "torch-cuda-amp"] as const;
/** What a plain run compares with (torch-cuda is asked for, or comes with --model). */
const DEFAULT_PEERS: readonly PeerName[] = ["tfjs-webgpu", "tfjs-cpu", "torch-cpu"];
type PeerName = (typeof PEERS)[number];

/** tfjs's pure-JS CPU backend is only timed where it finishes in reasonable time. */
const TFJS_CPU_ROWS = ["W1", "W4"];
/** Rows no TF.js model mirrors (the debiasing step): the tfjs columns leave them out. */
const TFJS_SKIP_KINDS: readonly string[] = ["synth_debias", "trunk"];

interface Options {
  only: string[] | null;
  backends: OurBackendName[];
  peers: PeerName[];
  warmup: number;
  runs: number;
  budgetS: number;
  threads: number;
  out: string;
  tfjsBundle: string | null;
  cachedOnly: boolean;
  /** Trunk rows (--model), their side (--image-size) and batch (--batch). */
  models: string[];
  imageSize: number;
  batch: number;
  profile: boolean;
  /** Launches per timed call of the kernel rows (specs.ts withRepeat). */
  repeat: number;
}

const VALUED = new Set(["--only", "--backends", "--peers", "--budget", "--threads", "--out"]);
for (const f of ["--tfjs-bundle", "--model", "--image-size", "--batch", "--repeat"]) VALUED.add(f);

function list(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

function pick<T extends string>(flag: string, value: string, known: readonly T[]): T[] {
  if (value === "none") return [];
  const names = list(value).map((n) => (n === "torch" ? "torch-cpu" : n));
  const bad = names.filter((n) => !known.includes(n as T));
  if (bad.length) {
    throw new Error(`${flag}: unknown ${bad.join(", ")} (known: ${known.join(", ")})`);
  }
  return names as T[];
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`${flag} needs a positive number, got "${value}"`);
  return n;
}

export function parseOptions(args: string[]): Options {
  const o: Options = {
    only: null,
    backends: [...DEFAULT_BACKENDS],
    peers: [...DEFAULT_PEERS],
    warmup: 2,
    runs: 5,
    budgetS: 120,
    threads: TORCH_THREADS,
    out: "results/bench/latest.md",
    tfjsBundle: null,
    cachedOnly: false,
    models: [],
    imageSize: 256,
    batch: 8,
    profile: false,
    repeat: 1,
  };
  let quick = false;
  let budgetGiven = false;
  let backendsGiven = false;
  let peersGiven = false;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (flag === "--quick") quick = true;
    else if (flag === "--cached-only") o.cachedOnly = true;
    else if (flag === "--profile") o.profile = true;
    else if (VALUED.has(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      if (flag === "--only") o.only = list(value);
      if (flag === "--backends") {
        [o.backends, backendsGiven] = [pick(flag, value, OUR_BACKENDS), true];
      }
      if (flag === "--peers") [o.peers, peersGiven] = [pick(flag, value, PEERS), true];
      if (flag === "--model") o.models = list(value);
      if (flag === "--image-size") o.imageSize = Math.round(positive(flag, value));
      if (flag === "--batch") o.batch = Math.round(positive(flag, value));
      if (flag === "--repeat") o.repeat = Math.round(positive(flag, value));
      if (flag === "--budget") [o.budgetS, budgetGiven] = [positive(flag, value), true];
      if (flag === "--threads") o.threads = Math.round(positive(flag, value));
      if (flag === "--out") o.out = value;
      if (flag === "--tfjs-bundle") o.tfjsBundle = value;
    } else console.error(`bench: ignoring unknown argument ${args[i]}`);
  }
  if (o.models.length) {
    [o.warmup, o.runs] = [1, 3];
    if (!budgetGiven) o.budgetS = 1800;
    if (!backendsGiven) o.backends = ["webgpu", "cpu"];
    if (!peersGiven) o.peers = ["torch-cpu", "torch-cuda", "torch-cuda-amp"];
  }
  if (quick) {
    [o.warmup, o.runs] = [1, 3];
    if (!budgetGiven) o.budgetS = 8;
  }
  return o;
}

async function runPeer(name: PeerName, specs: WorkloadSpec[], o: Options): Promise<Column> {
  const run = { warmup: o.warmup, runs: o.runs, budgetS: o.budgetS, threads: o.threads };
  console.error(`[${name}] starting`);
  const column = name.startsWith("torch-")
    ? await runTorchPeer(specs, { ...run, device: name.slice("torch-".length) as TorchDevice })
    : await runTfjsPeer(name === "tfjs-webgpu" ? "webgpu" : "cpu", specs, {
      ...run,
      cachedOnly: o.cachedOnly,
      bundle: o.tfjsBundle,
    });
  if (column.unavailable) console.error(`[${name}] unavailable: ${column.unavailable}`);
  else console.error(`[${name}] ${column.info}`);
  for (const spec of specs) {
    const m = column.rows.get(spec.id);
    if (m) logCell(name, spec, m);
  }
  return column;
}

/** The decode table of bench/decode_bench.ts, when that file exists (another helper's). */
async function decodeSection(): Promise<string | null> {
  const url = new URL("./decode_bench.ts", import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    return null;
  }
  try {
    const mod = await import(url.href);
    const rows = await mod.benchDecode() as { name: string; imagesPerSecond: number }[];
    return renderDecodeTable(rows);
  } catch (err) {
    return `decode benchmark failed: ${(err as Error).message.split("\n")[0]}`;
  }
}

function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return info.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}

function environment(columns: Column[], o: Options): string {
  const lines = [
    `- date: ${new Date().toISOString()}; Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ` +
    `${Deno.build.os}/${Deno.build.arch}; ${cpuModel()}, ${navigator.hardwareConcurrency} cores`,
    `- each cell: median of ${o.runs} timed calls after ${o.warmup} warm-up(s), result read ` +
    `back to the host${
      o.repeat > 1 ? ` (kernel rows: ${o.repeat} launches per call, the last one read back)` : ""
    }; cells over ${o.budgetS} s (cpu-reference: ` +
    `${Math.min(o.budgetS, REFERENCE_BUDGET_S)} s) skipped`,
  ];
  for (const c of columns) if (c.info) lines.push(`- ${c.name}: ${c.info}`);
  return lines.join("\n");
}

/** Writes next to the target, then renames, so a reader never sees half a file. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  await Deno.writeTextFile(partial, text);
  await Deno.rename(partial, path);
}

async function main(): Promise<void> {
  const o = parseOptions(Deno.args);
  const only = o.only?.filter((n) => n !== "decode") ?? null;
  const specs = withRepeat(
    o.models.length
      ? [...(only ? selectWorkloads(only) : []), ...trunkSpecs(o.models, o.imageSize, o.batch)]
      : selectWorkloads(only),
    o.repeat,
  );
  const columns: Column[] = [];
  for (const name of o.backends) {
    columns.push(await runOurColumn(name, specs, o));
  }
  for (const name of o.peers) {
    const tfjs = name.startsWith("tfjs")
      ? specs.filter((s) => !TFJS_SKIP_KINDS.includes(s.kind))
      : specs;
    const rows = name === "tfjs-cpu" ? tfjs.filter((s) => TFJS_CPU_ROWS.includes(s.id)) : tfjs;
    if (!rows.length) continue;
    const column = await runPeer(name, rows, o);
    if (name === "tfjs-cpu" && column.info) {
      column.info += `; times ${TFJS_CPU_ROWS.join(", ")} only`;
    }
    columns.push(column);
  }
  const sections = specs.length ? [renderTable(specs, columns), environment(columns, o)] : [];
  const memory = renderMemoryTable(specs, columns);
  if (memory) sections.push(memory);
  for (const c of columns) {
    const profiles = c.profiles && renderProfiles(specs, c.profiles);
    if (profiles) sections.push(profiles);
  }
  if (!o.models.length && (!o.only || o.only.includes("decode"))) {
    const decode = await decodeSection();
    if (decode) sections.push(decode);
  }
  const text = sections.join("\n\n");
  console.log(text);
  await writeAtomic(o.out, `# Benchmark\n\n${text}\n`);
  console.error(`bench: wrote ${o.out}`);
}

if (import.meta.main) {
  await main();
  // an open WebGPU device keeps the event loop alive
  Deno.exit(0);
}
