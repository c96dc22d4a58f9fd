/**
 * The WebGPU backend: every registered op with a `webgpu` implementation is a WGSL kernel from
 * gpu/shaders/, encoded into batched command buffers; only `read` waits for the GPU. An op
 * without one runs its reference through a host round trip (host-fallback.ts).
 */

import type { Backend } from "../backend.ts";
import { invoke } from "../kernel.ts";
import { installKernels, KernelMethods, narrow } from "../kernel-methods.ts";
import { type DType, type MemoryStats, Storage, type TypedArray } from "../types.ts";
import { fill } from "./elementwise.ts";
import { runOnHost } from "./host-fallback.ts";
import { type GpuRuntime, GpuStorage } from "./runtime.ts";

export class WebGpuBackend extends KernelMethods implements Backend {
  readonly name: string = "webgpu";
  readonly description: string;

  constructor(readonly rt: GpuRuntime) {
    super();
    const a = rt.adapter;
    const tiles = a.isSoftware === (a.tiles === "software") ? "" : `, ${a.tiles} tiles`;
    this.description = `webgpu (${a.description}, vendor ${a.vendor}${
      a.isSoftware ? ", software adapter" : ""
    }${tiles})`;
    const own = (s: Storage) => this.#own(s);
    installKernels(this, (name, entry) => {
      const webgpu = entry.webgpu;
      if (webgpu) return (...args) => invoke(webgpu, narrow(args, own, rt));
      return (...args) => runOnHost(rt, name, entry, narrow(args, own));
    });
  }

  /** Narrows a storage to this backend's own, so a foreign one fails loudly. */
  #own(s: Storage): GpuStorage {
    if (!(s instanceof GpuStorage)) {
      throw new Error("storage does not belong to the WebGPU backend");
    }
    return s;
  }

  upload(data: TypedArray): Storage {
    return this.rt.upload(data);
  }
  zeros(length: number, dtype: DType): Storage {
    return fill(this.rt, length, 0, dtype);
  }
  fill(length: number, value: number, dtype: DType): Storage {
    return fill(this.rt, length, value, dtype);
  }
  async read(s: Storage): Promise<TypedArray> {
    return (await this.rt.readMany([this.#own(s)]))[0];
  }
  readMany(list: Storage[]): Promise<TypedArray[]> {
    return this.rt.readMany(list.map((s) => this.#own(s)));
  }
  free(s: Storage): void {
    this.rt.release(this.#own(s));
  }
  memory(): MemoryStats {
    return this.rt.pool.stats();
  }
  flush(): void {
    this.rt.flush();
  }
}
