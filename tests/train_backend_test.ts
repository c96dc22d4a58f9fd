/** --CUDA_VISIBLE_DEVICES read the way WebGPU allows: adapters by power preference, or none. */

import assert from "node:assert/strict";
import { parseVisibleDevices, selectTrainBackend } from "../experiments/train-backend.ts";

Deno.test("--CUDA_VISIBLE_DEVICES: 0 and 1 are the two adapters, '' and -1 hide both", () => {
  assert.equal(parseVisibleDevices("0").powerPreference, "high-performance");
  assert.equal(parseVisibleDevices("1").powerPreference, "low-power");
  assert.equal(parseVisibleDevices("").hidden, true);
  assert.equal(parseVisibleDevices("-1").hidden, true);
  const two = parseVisibleDevices("0,1");
  assert.equal(two.powerPreference, "high-performance");
  assert.match(two.notes[0], /devices 1 ignored: a run trains on one WebGPU adapter/);
  assert.throws(() => parseVisibleDevices("2"), /"2" is not a device here; WebGPU offers 0/);
  assert.throws(() => parseVisibleDevices("gpu0"), /--CUDA_VISIBLE_DEVICES gpu0/);
});

Deno.test("--CUDA_VISIBLE_DEVICES hiding the GPUs runs auto on the CPU and refuses webgpu", async () => {
  const chosen = await selectTrainBackend("auto", "-1", true);
  assert.notEqual(chosen.backend.name, "webgpu");
  assert.match(chosen.description, /--CUDA_VISIBLE_DEVICES "-1" hides every GPU/);
  await assert.rejects(() => selectTrainBackend("webgpu", "", true), /hides every GPU: drop one/);
  const cpu = await selectTrainBackend("cpu", "1", true);
  assert.match(cpu.description, /--CUDA_VISIBLE_DEVICES ignored: --backend cpu/);
});
