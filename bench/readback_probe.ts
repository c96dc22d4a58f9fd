/**
 * Probe of the WebGPU read-back floor (not a test): how long one round trip to the host takes
 * when the GPU has nothing to do, read through the runtime (GpuRuntime.readMany) and through a
 * bare `mapAsync`, and how many reads issued together cost. Deno 2.9's `mapAsync` polls the
 * device and then sleeps 10 ms before it looks at the result, so every read costs about that
 * much however small, and reads in flight together share one sleep; this is why training reads
 * its losses back every `--read-every` steps, and why `bench --repeat` exists.
 *
 *   deno run -A bench/readback_probe.ts [--reads 20]
 */

import { parseArgs } from "node:util";
import { webgpuBackend } from "../gpu/select.ts";

const { values } = parseArgs({ args: Deno.args, options: { reads: { type: "string" } } });
const reads = Number(values.reads ?? 20);
const gpu = await webgpuBackend();
const rt = gpu.rt;
const x = rt.upload(new Float32Array(64).fill(1));

async function perRead(run: () => Promise<unknown>): Promise<number> {
  await run();
  const t0 = performance.now();
  for (let i = 0; i < reads; i++) await run();
  return (performance.now() - t0) / reads;
}

const runtime = await perRead(() => rt.readMany([x]));
const bare = await perRead(async () => {
  const staging = rt.device.createBuffer({
    size: 256,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = rt.device.createCommandEncoder();
  encoder.copyBufferToBuffer(x.buffer, 0, staging, 0, 256);
  rt.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  staging.destroy();
});
const together = await perRead(() =>
  Promise.all(Array.from({ length: 8 }, () => rt.readMany([x])))
);

console.log(`adapter: ${rt.adapter.description}; Deno ${Deno.version.deno}; ${reads} reads each`);
console.log("| read | ms per read |");
console.log("| --- | ---: |");
console.log(`| GpuRuntime.readMany of 64 floats | ${runtime.toFixed(2)} |`);
console.log(`| bare copy + mapAsync of 256 bytes | ${bare.toFixed(2)} |`);
console.log(`| 8 reads issued together (per group of 8) | ${together.toFixed(2)} |`);
Deno.exit(0);
