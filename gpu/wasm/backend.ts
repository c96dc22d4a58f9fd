/**
 * The fast CPU backend: WebAssembly SIMD kernels (kernels/*.ts, AssemblyScript) on one shared
 * memory, run by the main thread plus one worker per extra core. An op whose registry entry has
 * no `wasm` implementation (softmax, losses, one-hot, random: small tensors) runs its reference,
 * which reads the storages' `.data` views of the heap in place; its results are copied into the
 * heap.
 */

import type { Backend } from "../backend.ts";
import { invoke } from "../kernel.ts";
import { installKernels, KernelMethods, mapResult, narrow } from "../kernel-methods.ts";
import {
  type DType,
  type HostStorage,
  type MemoryStats,
  Storage,
  type TypedArray,
} from "../types.ts";
import { type WasmRuntime, wasmRuntime } from "./runtime.ts";
import { WasmStorage } from "./storage.ts";
import { fill } from "./ops/elementwise.ts";

export class WasmBackend extends KernelMethods implements Backend {
  readonly name: string = "wasm";
  readonly description: string;
  #live = new WeakSet<WasmStorage>();
  #liveBytes = 0;
  #liveBuffers = 0;
  /** Returns the heap blocks of storages dropped without free() (the CPU twin's GC story). */
  #orphans = new FinalizationRegistry<{ ptr: number; bytes: number }>((held) => {
    this.rt.heap.release(held.ptr);
    this.#liveBytes -= held.bytes;
    this.#liveBuffers--;
  });

  constructor(readonly rt: WasmRuntime) {
    super();
    const own = (s: Storage) => this.#own(s);
    const track = (s: Storage) => this.#track(s);
    const adopt = (s: Storage) => this.#adopt(s as HostStorage);
    installKernels(this, (_name, entry) => {
      const wasm = entry.wasm;
      if (wasm) return (...args) => mapResult(invoke(wasm, narrow(args, own, rt)), track);
      return (...args) => mapResult(invoke(entry.reference, narrow(args, own)), adopt);
    });
    const gemm = rt.blas.path ? ` + BLAS GEMM (${rt.blas.path})` : "";
    this.description = `cpu (WebAssembly SIMD kernels${gemm}, ${rt.threads} thread${
      rt.threads > 1 ? "s" : ""
    })`;
  }

  #track<T extends Storage>(s: T): T {
    const w = s as unknown as WasmStorage;
    this.#live.add(w);
    this.#liveBytes += w.length * 4;
    this.#liveBuffers++;
    this.#orphans.register(w, { ptr: w.ptr, bytes: w.length * 4 }, w);
    return s;
  }

  /** Narrows a storage to this backend's own, so a foreign one fails loudly. */
  #own(s: Storage): WasmStorage {
    if (!(s instanceof WasmStorage) || !this.#live.has(s)) {
      throw new Error(
        s instanceof WasmStorage
          ? "WASM storage used after free or owned by another backend"
          : "storage does not belong to the WASM backend",
      );
    }
    return s;
  }

  /** Copies a reference implementation's result into the heap. */
  #adopt(s: HostStorage): WasmStorage {
    return this.#track(this.rt.upload(s.data));
  }

  upload(data: TypedArray): Storage {
    return this.#track(this.rt.upload(data));
  }
  zeros(length: number, dtype: DType): Storage {
    return this.#track(fill(this.rt, length, 0, dtype));
  }
  fill(length: number, value: number, dtype: DType): Storage {
    return this.#track(fill(this.rt, length, value, dtype));
  }
  read(s: Storage): Promise<TypedArray> {
    return Promise.resolve(this.#own(s).data.slice());
  }
  readMany(list: Storage[]): Promise<TypedArray[]> {
    return Promise.resolve(list.map((s) => this.#own(s).data.slice()));
  }
  free(s: Storage): void {
    const w = this.#own(s);
    this.#live.delete(w);
    this.#orphans.unregister(w);
    this.#liveBytes -= w.length * 4;
    this.#liveBuffers--;
    this.rt.free(w);
  }
  memory(): MemoryStats {
    return {
      liveBytes: this.#liveBytes,
      pooledBytes: this.rt.heap.pooledBytes,
      liveBuffers: this.#liveBuffers,
    };
  }
  flush(): void {}
}

/**
 * The fast CPU backend with `threads` kernel threads (default: one per core). Backends made
 * with the same thread count and BLAS setting share one heap and one worker pool. `blas: false`
 * keeps every GEMM on the WASM kernels even where a system BLAS is found (blas.ts).
 */
export async function createWasmBackend(
  threads?: number,
  options: { blas?: boolean } = {},
): Promise<WasmBackend> {
  return new WasmBackend(await wasmRuntime(threads, options.blas ?? true));
}
