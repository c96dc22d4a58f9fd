/**
 * Starts the TensorFlow.js peer (tfjs.ts) in a child Deno process per tfjs backend, so its
 * WebGPU device and npm packages never load into the process that times our backends. `bundle`
 * names a `deno bundle` of tfjs.ts instead: a few MB that travel where node_modules (hundreds
 * of MB of tfjs) cannot, e.g. to a GPU machine without a registry.
 */

import { fileURLToPath } from "node:url";
import type { WorkloadSpec } from "../specs.ts";
import { makeRequest, type PeerColumn, runPeerProcess } from "./protocol.ts";

export type TfjsBackend = "webgpu" | "cpu";

export async function runTfjsPeer(
  backend: TfjsBackend,
  workloads: WorkloadSpec[],
  o: { warmup: number; runs: number; budgetS: number; cachedOnly: boolean; bundle: string | null },
): Promise<PeerColumn> {
  const script = o.bundle ?? fileURLToPath(new URL("./tfjs.ts", import.meta.url));
  const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
  const args = ["run", "-A", "--config", config, ...(o.cachedOnly ? ["--cached-only"] : [])];
  const request = makeRequest(workloads, { ...o, threads: 1 });
  return await runPeerProcess(
    `tfjs-${backend}`,
    Deno.execPath(),
    [...args, script, `--backend=${backend}`],
    request,
  );
}
