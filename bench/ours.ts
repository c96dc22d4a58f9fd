/**
 * Runs the rows on our own backends, in this process: webgpu (the adapter navigator.gpu gives),
 * cpu (the WASM backend, with the system BLAS's GEMMs where one is found), cpu-wasm (the same
 * with every GEMM on the WASM kernels: what a machine without OpenBLAS gets) and cpu-reference
 * (the TypeScript twins, held to a shorter budget because they exist for correctness, not speed).
 * webgpu-f16 is the webgpu backend at `--precision f16` (f16 tiles where the shader-f16
 * self-test passes), asked for by name only: its ratio is against torch-cuda-amp.
 */

import type { Backend } from "../gpu/backend.ts";
import { CpuBackend } from "../gpu/cpu/backend.ts";
import { webgpuBackend } from "../gpu/select.ts";
import { createWasmBackend } from "../gpu/wasm/backend.ts";
import { prepareHalfPrecision } from "../gpu/mixed-precision.ts";
import { profileCall } from "./gpu-profile.ts";
import { calibrate, fmtS, measure, type Measurement } from "./measure.ts";
import { CALIBRATION, CALIBRATION_FLOPS, valueOf, type WorkloadSpec } from "./specs.ts";
import type { Column } from "./table.ts";
import { formatValue } from "./table.ts";
import { calibrationStep, prepareOurs } from "./workloads.ts";

export const OUR_BACKENDS = ["webgpu", "webgpu-f16", "cpu", "cpu-wasm", "cpu-reference"] as const;
export type OurBackendName = (typeof OUR_BACKENDS)[number];
/** What a run without --backends times. */
export const DEFAULT_BACKENDS: readonly OurBackendName[] = OUR_BACKENDS.filter((n) =>
  n !== "webgpu-f16"
);

/** The TypeScript twins skip any row that would take longer than this in all. */
export const REFERENCE_BUDGET_S = 60;

export interface RunOptions {
  warmup: number;
  runs: number;
  budgetS: number;
  threads: number;
  /** Profile one more call of each webgpu cell (bench/gpu-profile.ts). */
  profile?: boolean;
}

async function openBackend(name: OurBackendName, threads: number): Promise<[Backend, string]> {
  if (name === "webgpu" || name === "webgpu-f16") {
    const gpu = await webgpuBackend();
    const a = gpu.rt.adapter;
    const info = `adapter ${a.description}, vendor ${a.vendor}${a.isSoftware ? ", software" : ""}`;
    return [gpu, name === "webgpu" ? info : `${info}; ${await prepareHalfPrecision(gpu)}`];
  }
  const backend = name === "cpu-reference"
    ? new CpuBackend()
    : await createWasmBackend(threads, { blas: name === "cpu" });
  return [backend, backend.description];
}

/** Writes progress to stderr so stdout carries the table alone. */
export function logCell(column: string, spec: WorkloadSpec, m: Measurement): void {
  const text = m.kind === "ok"
    ? `${formatValue(valueOf(spec, m.seconds))} ${spec.unit} (median ${
      fmtS(m.seconds)
    } of ${m.runs})`
    : `${m.kind}: ${m.reason}`;
  console.error(`[${column}] ${spec.id}: ${text}`);
}

export async function runOurColumn(
  name: OurBackendName,
  specs: readonly WorkloadSpec[],
  o: RunOptions,
): Promise<Column> {
  const column: Column = { name, info: "", rows: new Map(), ours: true };
  let backend: Backend;
  try {
    [backend, column.info] = await openBackend(name, o.threads);
  } catch (err) {
    column.unavailable = (err as Error).message.split("\n")[0];
    console.error(`[${name}] unavailable: ${column.unavailable}`);
    return column;
  }
  console.error(`[${name}] ${column.info}`);
  const budgetS = name === "cpu-reference" ? Math.min(o.budgetS, REFERENCE_BUDGET_S) : o.budgetS;
  const cal = calibrationStep(backend, CALIBRATION as WorkloadSpec);
  const rate = await calibrate(cal.step, CALIBRATION_FLOPS);
  cal.dispose();
  for (const spec of specs) {
    let m: Measurement;
    try {
      const prepared = prepareOurs(backend, spec, name === "webgpu-f16" ? "f16" : "f32");
      try {
        const estimateS = spec.flops / rate;
        m = await measure(prepared.step, { ...o, budgetS, estimateS, estimateSlack: 3 });
        const memory = prepared.memory?.();
        if (m.kind === "ok" && memory) m.memory = memory;
        if (m.kind === "ok" && o.profile && name.startsWith("webgpu")) {
          (column.profiles ??= new Map()).set(spec.id, await profileCall(backend, prepared.step));
        }
      } finally {
        prepared.dispose();
      }
    } catch (err) {
      m = { kind: "error", reason: (err as Error).message.split("\n")[0] };
    }
    column.rows.set(spec.id, m);
    logCell(name, spec, m);
  }
  return column;
}
