/**
 * Opens the WebGPU device a runtime drives: the adapter of a power preference, with its real
 * limits, the optional features the runtime can use once they pass a self-test, and the tile
 * shapes `deno task tune` measured on it.
 */

import { type AdapterReport, GpuRuntime, type TileClass } from "./runtime.ts";
import { adapterKey, loadTunedTiles, type TunedTiles } from "./tuned-tiles.ts";

/** Why no adapter was found, for a clear error when `--backend webgpu` is asked for. */
export class NoAdapterError extends Error {}

/**
 * Asks for the adapter's real limits: the defaults (128 MiB storage binding) are too small.
 * Deno offers one adapter per power preference (on a machine with two GPUs, the discrete one
 * for "high-performance" and the integrated one for "low-power").
 */
export async function createGpuRuntime(
  powerPreference: GPUPowerPreference = "high-performance",
  options: { tiles?: TileClass; tuned?: TunedTiles | null } = {},
): Promise<GpuRuntime> {
  if (!("gpu" in navigator) || !navigator.gpu) {
    throw new NoAdapterError("this Deno has no WebGPU (navigator.gpu is missing)");
  }
  const adapter = await navigator.gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new NoAdapterError(
      "no WebGPU adapter found: install a GPU driver with Vulkan support, or Mesa's software " +
        "adapter (Debian package mesa-vulkan-drivers), or use --backend cpu",
    );
  }
  const limits = adapter.limits;
  const num = (v: number | bigint) => Number(v);
  const required: Record<string, number> = {
    maxBufferSize: num(limits.maxBufferSize),
    maxStorageBufferBindingSize: num(limits.maxStorageBufferBindingSize),
    maxComputeWorkgroupStorageSize: num(limits.maxComputeWorkgroupStorageSize),
    maxComputeInvocationsPerWorkgroup: num(limits.maxComputeInvocationsPerWorkgroup),
    maxComputeWorkgroupSizeX: num(limits.maxComputeWorkgroupSizeX),
    maxComputeWorkgroupSizeY: num(limits.maxComputeWorkgroupSizeY),
    maxStorageBuffersPerShaderStage: num(limits.maxStorageBuffersPerShaderStage),
  };
  // Asked for where offered; each is used only once its self-test passes (startProfile,
  // half-tiles.ts).
  const optional: GPUFeatureName[] = ["timestamp-query", "shader-f16"];
  const requiredFeatures = optional.filter((name) => adapter.features.has(name));
  const device = await adapter.requestDevice({ requiredLimits: required, requiredFeatures });
  device.lost.then((info) => {
    if (info.reason !== "destroyed") console.error(`WebGPU device lost: ${info.message}`);
  });
  const info = adapter.info;
  const isSoftware = info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(info.description ?? "");
  const description = info.description || info.device || "unknown adapter";
  const vendor = info.vendor || "unknown vendor";
  const tiles = options.tiles ?? (isSoftware ? "software" : "hardware");
  const tuned = tiles === "software"
    ? null
    : options.tuned !== undefined
    ? options.tuned
    : loadTunedTiles(adapterKey(description, vendor));
  const report: AdapterReport = { description, vendor, isSoftware, tiles, tuned };
  const maxBuffer = Math.min(required.maxBufferSize, required.maxStorageBufferBindingSize);
  return new GpuRuntime(device, report, maxBuffer);
}
