/**
 * The PyTorch columns (CPU, CUDA FP32, CUDA mixed precision): runs torch_bench.py with the system Python when `import torch` works
 * there; otherwise the column is reported missing with the reason, never a failed benchmark.
 */

import { fileURLToPath } from "node:url";
import type { WorkloadSpec } from "../specs.ts";
import { makeRequest, type PeerColumn, runPeerProcess } from "./protocol.ts";

export const TORCH_PYTHON = "/usr/bin/python3";

/** The thread count the issue fixes for the PyTorch column (and, by default, for our cpu). */
export const TORCH_THREADS = 2;

/**
 * Where the PyTorch column runs (bench/peers/torch_place.py): the CPU, CUDA's first GPU in FP32
 * with TF32 off, or the same GPU with TF32 on and autocast to bfloat16.
 */
export type TorchDevice = "cpu" | "cuda" | "cuda-amp";

const CUDA_PROBE =
  "import torch, sys; torch.cuda.is_available() or sys.exit('CUDA: torch sees no GPU')";
const PROBE: Record<TorchDevice, string> = {
  cpu: "import torch; print(torch.__version__)",
  cuda: CUDA_PROBE,
  "cuda-amp": CUDA_PROBE,
};

async function torchAvailable(device: TorchDevice): Promise<string | null> {
  try {
    const out = await new Deno.Command(TORCH_PYTHON, {
      args: ["-c", PROBE[device]],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return null;
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").pop();
    return device === "cpu"
      ? `${TORCH_PYTHON} cannot import torch (${err})`
      : `${TORCH_PYTHON}: ${err}`;
  } catch (err) {
    return `${TORCH_PYTHON} not runnable (${(err as Error).message})`;
  }
}

export async function runTorchPeer(
  workloads: WorkloadSpec[],
  o: { warmup: number; runs: number; budgetS: number; threads: number; device?: TorchDevice },
): Promise<PeerColumn> {
  const device = o.device ?? "cpu";
  const name = `torch-${device}`;
  const missing = await torchAvailable(device);
  if (missing) return { name, info: "", rows: new Map(), unavailable: missing };
  const script = fileURLToPath(new URL("./torch_bench.py", import.meta.url));
  const request = { ...makeRequest(workloads, o), device };
  return await runPeerProcess(name, TORCH_PYTHON, ["-u", script], request);
}
