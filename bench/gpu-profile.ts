/**
 * `bench --profile`: after a webgpu cell is timed, one more call runs under the GPU profiler
 * (gpu/webgpu/profiler.ts), and the table gets each row's split: the call's wall time, the GPU
 * time its kernels took, and the kernels that took most. Wall time far above the kernels' sum
 * means the step waits on the host (dispatch, submit, readback), not on the arithmetic.
 */

import type { Backend } from "../gpu/backend.ts";
import type { KernelTime } from "../gpu/webgpu/profiler.ts";
import { WebGpuBackend } from "../gpu/webgpu/backend.ts";
import { fmtS } from "./measure.ts";
import type { WorkloadSpec } from "./specs.ts";

/** What one profiled call of a row spent. */
export interface RowProfile {
  wallS: number;
  dispatches: number;
  kernels: KernelTime[];
}

/** Kernels listed per row; the rest are summed into one line. */
const SHOWN = 8;

/** Runs `step` once under the profiler, or says why it could not. */
export async function profileCall(
  backend: Backend,
  step: () => Promise<unknown>,
): Promise<RowProfile | string> {
  if (!(backend instanceof WebGpuBackend)) return "only the webgpu column is profiled";
  const rt = backend.rt;
  try {
    await rt.startProfile();
  } catch (err) {
    return (err as Error).message;
  }
  const dispatches = rt.dispatchCount;
  const t0 = performance.now();
  let failure: Error | null = null;
  await step().catch((err) => failure = err);
  const wallS = (performance.now() - t0) / 1000;
  const kernels = await rt.stopProfile();
  if (failure) return `the profiled call failed: ${(failure as Error).message.split("\n")[0]}`;
  return { wallS, dispatches: rt.dispatchCount - dispatches, kernels };
}

/** Seconds down to microseconds, three figures. */
function time(s: number): string {
  if (s >= 0.1) return fmtS(s);
  if (s >= 1e-3) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${(s * 1e6).toPrecision(3)} µs`;
}

export function renderProfiles(
  specs: readonly WorkloadSpec[],
  profiles: ReadonlyMap<string, RowProfile | string>,
): string | null {
  const lines: string[] = [];
  for (const spec of specs) {
    const p = profiles.get(spec.id);
    if (p === undefined) continue;
    if (typeof p === "string") {
      lines.push(`- ${spec.label}: not profiled (${p})`);
      continue;
    }
    const gpuS = p.kernels.reduce((s, k) => s + k.seconds, 0);
    lines.push(
      "",
      `${spec.label}: wall ${time(p.wallS)}, kernels ${time(gpuS)} ` +
        `(${(100 * gpuS / p.wallS).toFixed(0)} % of wall), ${p.dispatches} dispatches`,
      "",
      "| kernel | calls | GPU time | share of kernels | mean per call |",
      "| --- | ---: | ---: | ---: | ---: |",
    );
    const row = (name: string, calls: number, s: number) =>
      `| ${name} | ${calls} | ${time(s)} | ${(100 * s / (gpuS || 1)).toFixed(1)} % | ${
        time(s / Math.max(calls, 1))
      } |`;
    for (const k of p.kernels.slice(0, SHOWN)) lines.push(row(k.kernel, k.calls, k.seconds));
    const rest = p.kernels.slice(SHOWN);
    if (rest.length) {
      const calls = rest.reduce((s, k) => s + k.calls, 0);
      const s = rest.reduce((t, k) => t + k.seconds, 0);
      lines.push(row(`${rest.length} other kernels`, calls, s));
    }
  }
  if (!lines.length) return null;
  return [
    "GPU time by kernel (webgpu, one extra call per row under timestamp queries; each dispatch",
    "in a pass of its own, so read shares, not speed):",
    ...lines,
  ].join("\n");
}
