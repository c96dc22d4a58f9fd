/**
 * Tensors held in host memory: what files are read into and written from. Keeping this apart
 * from `Tensor` lets checkpoints and safetensors I/O run without a backend, and lets one
 * `readMany` round trip fetch a whole state dict from the GPU.
 */

import { sizeOf } from "../gpu/backend.ts";
import type { Tensor } from "./tensor.ts";

/** Values of one tensor on the host (row-major), in the engine's two dtypes. */
export interface HostTensor {
  dtype: "f32" | "i32";
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

/** Builds a host tensor, checking that the values fill the shape; `what` names it in errors. */
export function hostTensor(
  data: Float32Array | Int32Array,
  shape: readonly number[],
  what = "tensor",
): HostTensor {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${what}: invalid shape [${shape}]`);
  }
  if (sizeOf(shape) !== data.length) {
    throw new Error(`${what}: ${data.length} values do not fill shape [${shape}]`);
  }
  return { dtype: data instanceof Int32Array ? "i32" : "f32", shape: [...shape], data };
}

/** Copies named tensors to the host with one backend round trip per backend. */
export async function toHost(
  named: Iterable<readonly [string, Tensor]>,
): Promise<Map<string, HostTensor>> {
  const entries = [...named];
  const out = new Map<string, HostTensor>();
  const byBackend = new Map<Tensor["backend"], [string, Tensor][]>();
  for (const [name, t] of entries) {
    const list = byBackend.get(t.backend) ?? [];
    list.push([name, t]);
    byBackend.set(t.backend, list);
  }
  const read = new Map<string, HostTensor>();
  for (const [backend, list] of byBackend) {
    const values = await backend.readMany(list.map(([, t]) => t.storage));
    list.forEach(([name, t], i) => read.set(name, hostTensor(values[i], t.shape, name)));
  }
  for (const [name] of entries) out.set(name, read.get(name)!);
  return out;
}
