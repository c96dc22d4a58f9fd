/**
 * The kernel thread pool: one worker per extra core, started once, each blocked in
 * Atomics.wait between dispatches. Backend ops are synchronous, so the main thread takes part
 * in every parallel kernel as thread 0 and then spin-waits (briefly, then Atomics.wait, which
 * Deno allows on the main thread) for the workers. A wake-up round trip measured ~4-13 us here.
 */

import { Worker } from "node:worker_threads";
import { CONTROL_SLOTS, DONE, ERR, FN, GEN, NT, PARAM, type WorkerInit } from "./control.ts";
import type { KernelExports, TaskFn } from "./module.ts";
import { taskNames } from "./module.ts";
import { hostTasks } from "./blas-task.ts";
import type { BlasLibrary } from "./blas.ts";

/** Polls before a waiting worker sleeps: back-to-back kernels then skip the futex wake-up. */
const WORKER_SPIN = 5_000;
/** Polls before the main thread sleeps while workers finish. */
const MAIN_SPIN = 20_000;
/** A worker silent this long is reported as stuck instead of hanging the process. */
const STUCK_MS = 60_000;

export class ThreadPool {
  readonly #ctl: Int32Array;
  readonly #workers: Worker[];
  readonly #tasks: Map<string, { index: number; fn: TaskFn }>;
  #messages: string[] = [];

  private constructor(
    ctl: Int32Array,
    workers: Worker[],
    tasks: Map<string, { index: number; fn: TaskFn }>,
  ) {
    this.#ctl = ctl;
    this.#workers = workers;
    this.#tasks = tasks;
    for (const w of workers) w.on("message", (m: unknown) => this.#messages.push(String(m)));
  }

  /** Threads that run a parallel kernel, the main thread included. */
  get threads(): number {
    return this.#workers.length + 1;
  }

  static async start(
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    exports: KernelExports,
    control: number,
    threads: number,
    blas: BlasLibrary | null,
  ): Promise<ThreadPool> {
    const host = hostTasks(memory, blas);
    const names = [...taskNames(module), ...host.keys()];
    const tasks = new Map(
      names.map((n, index) => [n, { index, fn: host.get(n) ?? exports[n] as TaskFn }]),
    );
    const ctl = new Int32Array(memory.buffer, control, CONTROL_SLOTS);
    const workers: Worker[] = [];
    try {
      for (let tid = 1; tid < threads; tid++) {
        const init: WorkerInit = { memory, module, control, tid, names, spin: WORKER_SPIN, blas };
        const worker = new Worker(new URL("./worker.ts", import.meta.url), { workerData: init });
        workers.push(worker);
        await new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
          worker.once("exit", (code) => reject(new Error(`exited with code ${code}`)));
        });
        worker.removeAllListeners();
        worker.unref();
      }
    } catch (err) {
      for (const w of workers) w.terminate();
      throw new Error(`WASM backend: kernel worker failed to start: ${(err as Error).message}`);
    }
    return new ThreadPool(ctl, workers, tasks);
  }

  /**
   * Runs task `name` on the parameter block at `params`: on every thread when `parallel`,
   * else on the main thread alone (small work, where a wake-up costs more than it saves).
   */
  run(name: string, params: number, parallel: boolean): void {
    const task = this.#tasks.get(name);
    if (!task) throw new Error(`WASM backend: no kernel named ${name}`);
    if (!parallel || this.#workers.length === 0) {
      task.fn(params, 0, 1);
      return;
    }
    const ctl = this.#ctl;
    const nt = this.threads;
    Atomics.store(ctl, FN, task.index);
    Atomics.store(ctl, PARAM, params);
    Atomics.store(ctl, NT, nt);
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERR, 0);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    try {
      task.fn(params, 0, nt);
    } finally {
      this.#join(nt - 1);
    }
    const failed = Atomics.load(ctl, ERR);
    if (failed) {
      throw new Error(
        `WASM kernel ${name} failed on worker ${failed - 1}${
          this.#messages.length ? `: ${this.#messages.at(-1)}` : ""
        }`,
      );
    }
  }

  #join(expected: number): void {
    const ctl = this.#ctl;
    let polls = 0;
    let since = 0;
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done >= expected) return;
      if (++polls > MAIN_SPIN) {
        since ||= performance.now();
        Atomics.wait(ctl, DONE, done, 20);
        if (performance.now() - since > STUCK_MS) {
          throw new Error(`WASM backend: a kernel worker has not answered for ${STUCK_MS} ms`);
        }
      }
    }
  }

  /** Stops the workers (they also die with the process: they are unref'd). */
  close(): void {
    const ctl = this.#ctl;
    Atomics.store(ctl, FN, -1);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    this.#workers.length = 0;
  }
}
