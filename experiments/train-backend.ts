/**
 * The backend of a train run, with the study's --CUDA_VISIBLE_DEVICES read the way WebGPU allows.
 * CUDA numbers GPUs; Deno's navigator.gpu hands out one adapter per power preference instead, so
 * device 0 is the "high-performance" adapter (the discrete GPU of a two-GPU machine, the only one
 * elsewhere) and device 1 the "low-power" one. An empty value or -1 hides every GPU, as it does
 * for CUDA. A list trains on its first device: the study's DataParallel over several GPUs has no
 * WebGPU counterpart here, and the run says so rather than pretending.
 */

import type { Backend } from "../gpu/backend.ts";
import { type BackendChoice, selectBackend } from "../gpu/select.ts";

export interface TrainBackend {
  backend: Backend;
  /** One line for the log: what was chosen, and what --CUDA_VISIBLE_DEVICES did. */
  description: string;
}

/** What a --CUDA_VISIBLE_DEVICES value asks of WebGPU. */
export interface DeviceRequest {
  /** No GPU may be used. */
  hidden: boolean;
  powerPreference: GPUPowerPreference;
  /** Notes for the log (devices ignored). */
  notes: string[];
}

const PREFERENCES: readonly GPUPowerPreference[] = ["high-performance", "low-power"];

/** Parses a --CUDA_VISIBLE_DEVICES value; bad values name the option and the accepted ones. */
export function parseVisibleDevices(value: string): DeviceRequest {
  const ids = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (ids.length === 0 || ids[0] === "-1") {
    return { hidden: true, powerPreference: "high-performance", notes: [] };
  }
  const numbers = ids.map((id) => {
    const n = Number(id);
    if (!/^\d+$/.test(id) || n >= PREFERENCES.length) {
      throw new Error(
        `--CUDA_VISIBLE_DEVICES ${value}: "${id}" is not a device here; WebGPU offers ` +
          `0 (the high-performance adapter) and 1 (the low-power adapter), "" or -1 hides both`,
      );
    }
    return n;
  });
  const notes = numbers.length > 1
    ? [`devices ${numbers.slice(1).join(",")} ignored: a run trains on one WebGPU adapter`]
    : [];
  return { hidden: false, powerPreference: PREFERENCES[numbers[0]], notes };
}

/**
 * Chooses the backend of a run. `devicesGiven`: whether the user set --CUDA_VISIBLE_DEVICES
 * (its default, 0, is then not worth a note).
 */
export async function selectTrainBackend(
  choice: BackendChoice,
  visibleDevices: string,
  devicesGiven: boolean,
): Promise<TrainBackend> {
  const request = parseVisibleDevices(visibleDevices);
  const notes = [...request.notes];
  let effective = choice;
  if (request.hidden) {
    if (choice === "webgpu") {
      throw new Error(
        `--backend webgpu with --CUDA_VISIBLE_DEVICES "${visibleDevices}", which hides every ` +
          `GPU: drop one of the two`,
      );
    }
    if (choice === "auto") effective = "cpu";
    notes.push(`--CUDA_VISIBLE_DEVICES "${visibleDevices}" hides every GPU`);
  } else if (devicesGiven && (choice === "cpu" || choice === "cpu-reference")) {
    notes.push(`--CUDA_VISIBLE_DEVICES ignored: --backend ${choice}`);
  } else if (devicesGiven || request.powerPreference !== "high-performance") {
    notes.push(
      `--CUDA_VISIBLE_DEVICES ${visibleDevices}: the ${request.powerPreference} adapter`,
    );
  }
  const { backend, reason } = await selectBackend(effective, {
    powerPreference: request.powerPreference,
  });
  const description = `backend ${backend.name} (${[reason, ...notes].join("; ")})`;
  return { backend, description };
}
