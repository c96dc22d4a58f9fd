/**
 * The CPU backend: the reference implementation of every registered op, in plain TypeScript. It
 * is the oracle the WebGPU and WASM kernels are tested against, and the fallback where neither
 * runs.
 */

import type { Backend } from "../backend.ts";
import { invoke } from "../kernel.ts";
import { installKernels, KernelMethods, mapResult, narrow } from "../kernel-methods.ts";
import { type DType, type MemoryStats, Storage, type TypedArray } from "../types.ts";
import { CpuStorage, wrap } from "./storage.ts";

export class CpuBackend extends KernelMethods implements Backend {
  readonly name: string = "cpu";
  readonly description: string = "cpu (TypeScript reference kernels)";
  #liveBytes = 0;
  #liveBuffers = 0;
  #live = new WeakSet<Storage>();

  constructor() {
    super();
    const track = (s: Storage) => this.#track(s);
    const own = (s: Storage) => this.#own(s);
    installKernels(
      this,
      (_name, entry) => (...args) => mapResult(invoke(entry.reference, narrow(args, own)), track),
    );
  }

  #track<T extends Storage>(s: T): T {
    this.#live.add(s);
    this.#liveBytes += s.length * 4;
    this.#liveBuffers++;
    return s;
  }

  #own(s: Storage): CpuStorage {
    if (!(s instanceof CpuStorage)) throw new Error("storage does not belong to the CPU backend");
    return s;
  }

  upload(data: TypedArray): Storage {
    return this.#track(wrap(data.slice()));
  }
  zeros(length: number, dtype: DType): Storage {
    return this.#track(wrap(dtype === "i32" ? new Int32Array(length) : new Float32Array(length)));
  }
  fill(length: number, value: number, dtype: DType): Storage {
    const s = wrap(dtype === "i32" ? new Int32Array(length) : new Float32Array(length));
    s.data.fill(value);
    return this.#track(s);
  }
  read(s: Storage): Promise<TypedArray> {
    return Promise.resolve(this.#own(s).data.slice());
  }
  readMany(list: Storage[]): Promise<TypedArray[]> {
    return Promise.resolve(list.map((s) => this.#own(s).data.slice()));
  }
  free(s: Storage): void {
    if (!this.#live.has(s)) throw new Error("CPU storage freed twice or not owned by this backend");
    this.#live.delete(s);
    this.#liveBytes -= s.length * 4;
    this.#liveBuffers--;
  }
  memory(): MemoryStats {
    return { liveBytes: this.#liveBytes, pooledBytes: 0, liveBuffers: this.#liveBuffers };
  }
  flush(): void {}
}
