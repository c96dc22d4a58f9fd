/**
 * Keeps the WebGPU queue's operations (submits, buffer writes) in program order when some of
 * them must wait for the host: a host step (host-fallback.ts) reads buffers back, computes, and
 * writes results, and everything issued after it must reach the device queue after those writes.
 * While no host step is pending, operations run at once, exactly as without this queue.
 */

export class OrderedQueue {
  #waiting: (() => void | Promise<void>)[] = [];
  #drain: Promise<void> | null = null;

  constructor(readonly onError: (err: unknown) => void) {}

  /** Whether a host step is pending, so that operations issued now are held back. */
  get busy(): boolean {
    return this.#drain !== null;
  }

  /** Runs `op` now, or after everything issued before it when a host step is pending. */
  do(op: () => void): void {
    if (this.#drain) this.#waiting.push(op);
    else op();
  }

  /** Queues an asynchronous host step; operations issued later wait until it has finished. */
  await(step: () => Promise<void>): void {
    this.#waiting.push(step);
    this.#drain ??= this.#run();
  }

  /** Resolves once every operation issued so far has reached the device queue. */
  idle(): Promise<void> {
    return this.#drain ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    while (this.#waiting.length > 0) {
      const next = this.#waiting.shift()!;
      try {
        await next();
      } catch (err) {
        this.onError(err);
      }
    }
    this.#drain = null;
  }
}
