/**
 * The PyTorch CPU column: runs torch_bench.py with the system Python when `import torch` works
 * there; otherwise the column is reported missing with the reason, never a failed benchmark.
 */

import { fileURLToPath } from "node:url";
import type { WorkloadSpec } from "../specs.ts";
import { makeRequest, type PeerColumn, runPeerProcess } from "./protocol.ts";

export const TORCH_PYTHON = "/usr/bin/python3";

/** The thread count the issue fixes for the PyTorch column (and, by default, for our cpu). */
export const TORCH_THREADS = 2;

async function torchAvailable(): Promise<string | null> {
  try {
    const out = await new Deno.Command(TORCH_PYTHON, {
      args: ["-c", "import torch; print(torch.__version__)"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return `${TORCH_PYTHON} cannot import torch (${err})`;
  } catch (err) {
    return `${TORCH_PYTHON} not runnable (${(err as Error).message})`;
  }
}

export async function runTorchPeer(
  workloads: WorkloadSpec[],
  o: { warmup: number; runs: number; budgetS: number; threads: number },
): Promise<PeerColumn> {
  const missing = await torchAvailable();
  if (missing) return { name: "torch-cpu", info: "", rows: new Map(), unavailable: missing };
  const script = fileURLToPath(new URL("./torch_bench.py", import.meta.url));
  const request = makeRequest(workloads, o);
  return await runPeerProcess("torch-cpu", TORCH_PYTHON, ["-u", script], request);
}
