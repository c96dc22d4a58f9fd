/**
 * One WASM kernel runtime per process and thread count: the shared heap, the main thread's
 * kernel instance, the worker pool and the parameter block every dispatch writes its arguments
 * to (dispatch is synchronous, so one block serves all ops).
 */

import type { DType, TypedArray } from "../types.ts";
import { CONTROL_SLOTS } from "./control.ts";
import { WasmHeap } from "./heap.ts";
import { instantiate, type KernelExports, kernelModule } from "./module.ts";
import { ThreadPool } from "./threads.ts";
import { type BlasChoice, findBlas } from "./blas.ts";
import { WasmStorage } from "./storage.ts";
import { COUNTER, PARAM_SLOTS, WS_BYTES, WS_PTR } from "./kernels/slots.ts";

/** Kernel statics end below this; the control and parameter blocks sit just above. */
const STATIC_END = 0x8000;
const CONTROL = STATIC_END;
const PARAMS = CONTROL + CONTROL_SLOTS * 4;
const RESERVED = 0x10000;

export class WasmRuntime {
  readonly params: Int32Array;
  readonly paramsF32: Float32Array;
  /** Runs every kernel on all threads, however small: lets tests cover the parallel splits. */
  alwaysParallel = false;
  /**
   * Bytes of im2col matrix a BLAS convolution writes per block of images (ops/conv-blas.ts).
   * Blocks that stay in cache between im2col and the GEMM ran the Colored-MNIST step in 210-220
   * ms of CPU time against 265-284 with 16 MiB blocks (one thread); tests shrink it further.
   */
  convColumnBytes = 256 << 10;
  #ws = { ptr: 0, bytes: 0 };

  constructor(
    readonly heap: WasmHeap,
    readonly kernels: KernelExports,
    readonly pool: ThreadPool,
    /** The BLAS the GEMM drivers hand their products to, or null (and why) for the WASM GEMM. */
    readonly blas: BlasChoice,
  ) {
    this.params = new Int32Array(heap.buffer, PARAMS, PARAM_SLOTS);
    this.paramsF32 = new Float32Array(heap.buffer, PARAMS, PARAM_SLOTS);
  }

  get threads(): number {
    return this.pool.threads;
  }

  alloc(length: number, dtype: DType): WasmStorage {
    const ptr = this.heap.alloc(Math.max(length, 1) * 4);
    return new WasmStorage(ptr, length, dtype, this.heap.buffer);
  }

  free(s: WasmStorage): void {
    s.markFreed();
    this.heap.release(s.ptr);
  }

  upload(data: TypedArray): WasmStorage {
    const s = this.alloc(data.length, data instanceof Int32Array ? "i32" : "f32");
    s.data.set(data);
    return s;
  }

  /** Zeroes the parameter block (its work counter included) and hands it out for writing. */
  begin(): Int32Array {
    this.params.fill(0);
    return this.params;
  }

  /** Gives every thread `bytes` of scratch for the next dispatch (kept and reused). */
  workspace(bytes: number): void {
    const per = Math.ceil(bytes / 64) * 64;
    const total = per * this.threads;
    if (total > this.#ws.bytes) {
      if (this.#ws.bytes) this.heap.release(this.#ws.ptr);
      this.#ws = { ptr: this.heap.alloc(total), bytes: total };
      // The workspace is the runtime's, not a tensor: keep it out of the live-tensor counters.
      this.heap.liveBytes -= this.#ws.bytes;
      this.heap.liveBuffers--;
    }
    this.params[WS_PTR] = this.#ws.ptr;
    this.params[WS_BYTES] = per;
  }

  /**
   * Runs a `*_task` kernel over the parameter block, on all threads when `parallel`. The work
   * counter the threads claim items from starts at zero for every dispatch, so a driver may run
   * several tasks after one `begin()`.
   */
  run(task: string, parallel: boolean): void {
    this.params[COUNTER] = 0;
    this.pool.run(task, PARAMS, parallel || this.alwaysParallel);
  }
}

const runtimes = new Map<string, Promise<WasmRuntime>>();

async function start(threads: number, useBlas: boolean): Promise<WasmRuntime> {
  const module = await kernelModule();
  const heap = new WasmHeap(RESERVED);
  const kernels = instantiate(module, heap.memory);
  if (kernels.data_end() > STATIC_END) {
    throw new Error(
      `WASM backend: kernel statics end at ${kernels.data_end()}, past ${STATIC_END}`,
    );
  }
  const blas: BlasChoice = useBlas
    ? findBlas()
    : { path: null, library: null, reason: "BLAS not asked for" };
  const pool = await ThreadPool.start(heap.memory, module, kernels, CONTROL, threads, blas.library);
  return new WasmRuntime(heap, kernels, pool, blas);
}

/**
 * The process-wide runtime for `threads` threads (default: one per core), with the system BLAS
 * for its GEMMs when `blas` and one is found (blas.ts), else the WASM GEMM throughout.
 */
export function wasmRuntime(
  threads = navigator.hardwareConcurrency || 1,
  blas = true,
): Promise<WasmRuntime> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`WASM backend: threads must be a positive integer, got ${threads}`);
  }
  const key = `${threads}:${blas}`;
  let rt = runtimes.get(key);
  if (!rt) {
    rt = start(threads, blas);
    rt.catch(() => runtimes.delete(key));
    runtimes.set(key, rt);
  }
  return rt;
}
