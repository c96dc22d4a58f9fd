/**
 * The fast CPU backend: WebAssembly SIMD kernels (kernels/*.ts, AssemblyScript) on one shared
 * memory, run by the main thread plus one worker per extra core. Hot families (GEMM,
 * convolutions, batch norm, pooling, element-wise, reductions, layout, optimisers) are WASM;
 * softmax, losses, one-hot and random stay on the TypeScript reference twins (small tensors),
 * which read the storages' `.data` views in place and whose results are copied into the heap.
 */

import type { Backend, DType, MemoryStats, Storage, TypedArray } from "../backend.ts";
import * as loss from "../cpu/loss.ts";
import { random } from "../cpu/random.ts";
import { softmax } from "../cpu/softmax.ts";
import type { CpuStorage } from "../cpu/storage.ts";
import { type WasmRuntime, wasmRuntime } from "./runtime.ts";
import { WasmStorage } from "./storage.ts";
import * as batchnorm from "./ops/batchnorm.ts";
import * as conv from "./ops/conv.ts";
import * as elementwise from "./ops/elementwise.ts";
import * as layout from "./ops/layout.ts";
import { matmul } from "./ops/matmul.ts";
import * as optim from "./ops/optim.ts";
import * as pool from "./ops/pool.ts";
import { reduce } from "./ops/reduce.ts";

export class WasmBackend implements Backend {
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

  /** Copies a reference twin's result into the heap. */
  #adopt(s: Storage): WasmStorage {
    return this.#track(this.rt.upload((s as CpuStorage).data));
  }

  upload(data: TypedArray): Storage {
    return this.#track(this.rt.upload(data));
  }
  zeros(length: number, dtype: DType): Storage {
    return this.#track(elementwise.fill(this.rt, length, 0, dtype));
  }
  fill(length: number, value: number, dtype: DType): Storage {
    return this.#track(elementwise.fill(this.rt, length, value, dtype));
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

  unary: Backend["unary"] = (op, x, param) =>
    this.#track(elementwise.unary(this.rt, op, this.#own(x), param));
  binary: Backend["binary"] = (op, a, av, b, bv) =>
    this.#track(elementwise.binary(this.rt, op, this.#own(a), av, this.#own(b), bv));
  cast: Backend["cast"] = (x, to) => this.#track(elementwise.cast(this.rt, this.#own(x), to));
  axpby: Backend["axpby"] = (a, x, b, y) =>
    this.#track(elementwise.axpby(this.rt, a, this.#own(x), b, this.#own(y)));
  gather: Backend["gather"] = (x, view) => this.#track(layout.gather(this.rt, this.#own(x), view));
  copyInto: Backend["copyInto"] = (src, dst, view) =>
    layout.copyInto(this.rt, this.#own(src), this.#own(dst), view);
  reduce: Backend["reduce"] = (op, x, shape, axes) =>
    this.#track(reduce(this.rt, op, this.#own(x), shape, axes));
  matmul: Backend["matmul"] = (a, b, q) =>
    this.#track(matmul(this.rt, this.#own(a), this.#own(b), q));
  conv2d: Backend["conv2d"] = (x, w, q) =>
    this.#track(conv.conv2d(this.rt, this.#own(x), this.#own(w), q));
  conv2dGradInput: Backend["conv2dGradInput"] = (gy, w, q) =>
    this.#track(conv.conv2dGradInput(this.rt, this.#own(gy), this.#own(w), q));
  conv2dGradWeight: Backend["conv2dGradWeight"] = (x, gy, q) =>
    this.#track(conv.conv2dGradWeight(this.rt, this.#own(x), this.#own(gy), q));
  batchNormStats: Backend["batchNormStats"] = (x, s) => {
    const r = batchnorm.batchNormStats(this.rt, this.#own(x), s);
    return { mean: this.#track(r.mean), variance: this.#track(r.variance) };
  };
  batchNormApply: Backend["batchNormApply"] = (x, mean, variance, gamma, beta, eps, s) =>
    this.#track(
      batchnorm.batchNormApply(
        this.rt,
        this.#own(x),
        this.#own(mean),
        this.#own(variance),
        this.#own(gamma),
        this.#own(beta),
        eps,
        s,
      ),
    );
  batchNormBackward: Backend["batchNormBackward"] = (x, gy, mean, variance, gamma, eps, s, b) => {
    const r = batchnorm.batchNormBackward(
      this.rt,
      this.#own(x),
      this.#own(gy),
      this.#own(mean),
      this.#own(variance),
      this.#own(gamma),
      eps,
      s,
      b,
    );
    return { gx: this.#track(r.gx), gGamma: this.#track(r.gGamma), gBeta: this.#track(r.gBeta) };
  };
  maxPool2d: Backend["maxPool2d"] = (x, q) => {
    const r = pool.maxPool2d(this.rt, this.#own(x), q);
    return { y: this.#track(r.y), argmax: this.#track(r.argmax) };
  };
  maxPool2dBackward: Backend["maxPool2dBackward"] = (gy, argmax, q) =>
    this.#track(pool.maxPool2dBackward(this.rt, this.#own(gy), this.#own(argmax), q));
  avgPool2d: Backend["avgPool2d"] = (x, q) => this.#track(pool.avgPool2d(this.rt, this.#own(x), q));
  avgPool2dBackward: Backend["avgPool2dBackward"] = (gy, q) =>
    this.#track(pool.avgPool2dBackward(this.rt, this.#own(gy), q));
  softmax: Backend["softmax"] = (x, rows, cols, log) =>
    this.#adopt(softmax(this.#own(x), rows, cols, log));
  bceWithLogits: Backend["bceWithLogits"] = (x, t) =>
    this.#adopt(loss.bceWithLogits(this.#own(x), this.#own(t)));
  crossEntropy: Backend["crossEntropy"] = (logits, labels, w, rows, cols, ignore) => {
    const r = loss.crossEntropy(
      this.#own(logits),
      this.#own(labels),
      w && this.#own(w),
      rows,
      cols,
      ignore,
    );
    return { loss: this.#adopt(r.loss), weight: this.#adopt(r.weight) };
  };
  crossEntropyBackward: Backend["crossEntropyBackward"] = (l, y, w, g, rows, cols, ignore) =>
    this.#adopt(
      loss.crossEntropyBackward(
        this.#own(l),
        this.#own(y),
        w && this.#own(w),
        this.#own(g),
        rows,
        cols,
        ignore,
      ),
    );
  oneHot: Backend["oneHot"] = (labels, cols) => this.#adopt(loss.oneHot(this.#own(labels), cols));
  random: Backend["random"] = (length, kind, p, seed) => this.#adopt(random(length, kind, p, seed));
  sgdStep: Backend["sgdStep"] = (param, grad, buf, q) =>
    optim.sgdStep(this.rt, this.#own(param), this.#own(grad), this.#own(buf), q);
  adamStep: Backend["adamStep"] = (param, grad, m, v, q) =>
    optim.adamStep(this.rt, this.#own(param), this.#own(grad), this.#own(m), this.#own(v), q);
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
