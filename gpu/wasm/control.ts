import type { BlasLibrary } from "./blas.ts";

/**
 * Layout of the thread-pool control block (Int32 slots in shared memory), shared by the
 * dispatcher (threads.ts) and the workers (worker.ts).
 */

/** Bumped once per dispatch; workers wait on it. */
export const GEN = 0;
/** Workers that finished the current dispatch. */
export const DONE = 1;
/** Index of the task in the sorted task-name list; -1 tells workers to exit. */
export const FN = 2;
/** Pointer to the parameter block. */
export const PARAM = 3;
/** Threads taking part (main thread included). */
export const NT = 4;
/** 1 + id of a worker whose kernel threw, else 0. */
export const ERR = 5;
export const CONTROL_SLOTS = 16;

/** What a worker is started with. */
export interface WorkerInit {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  control: number;
  tid: number;
  names: string[];
  /** Polls of the generation counter before the worker sleeps in Atomics.wait. */
  spin: number;
  /** The BLAS the host tasks call (blas-task.ts), or null for none. */
  blas: BlasLibrary | null;
}
