/**
 * Training the study's new trunks runs in constant device memory: after the first step (which
 * also creates the optimiser's momentum), every further SGD step of EfficientNet-B0 (depthwise
 * convs, squeeze-excitation) and DenseNet-121 (a concatenation per layer, average pools) leaves
 * the WASM backend's pool and live tensors exactly where the second step left them.
 * `deno task bench --model NAME` reports the same for every trunk at full size.
 */

import { assertEqual } from "./support/assert.ts";
import { wasmBackend } from "./support/backends.ts";
import { trunkRow, trunkSpecs } from "../bench/trunk-rows.ts";

Deno.test("trunk training steps hold constant device memory (WASM backend)", async () => {
  const backend = await wasmBackend();
  for (const [model, size] of [["efficientnet_b0", 32], ["densenet121", 32]] as const) {
    const [spec] = trunkSpecs([model], size, 2);
    const row = trunkRow(backend, spec);
    try {
      for (let i = 0; i < 4; i++) await row.step();
      const m = row.memory();
      if (!m) throw new Error(`${model}: no memory recorded`);
      assertEqual(m.last, m.second, `${model}: bytes held after step 4 vs step 2`);
    } finally {
      row.dispose();
    }
  }
});
