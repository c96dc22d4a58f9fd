/**
 * The one shared WebAssembly.Memory every tensor of the WASM backend lives in, with a
 * size-bucketed free-list allocator. Workers run kernels on the same memory, so nothing is
 * copied between threads. A training step allocates the same sizes every iteration, so after
 * the first step every allocation is a free-list pop (the same reasoning as the WebGPU buffer
 * pool). Only when the 4 GiB would run out are the free blocks coalesced: adjacent ones merge
 * into runs that later requests of any size are cut from, and a run at the top lowers it. So a
 * process that trains one trunk and then another (the benchmark's rows, a DenseNet's
 * ever-growing concatenations) reuses what the first left pooled instead of failing at 4 GiB.
 * Only the main thread allocates.
 */

const PAGE = 65536;
/** wasm32 addresses 4 GiB at most. */
const MAX_PAGES = 65536;
const ALIGN = 64;

/** Rounds a request up to its bucket: 64-byte steps, then four buckets per power of two. */
export function bucketBytes(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 1024) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  #top: number;
  #free = new Map<number, number[]>();
  /** Coalesced free runs, by address; empty until the first compaction. */
  #runs: { ptr: number; size: number }[] = [];
  #blockSize = new Map<number, number>();
  liveBytes = 0;
  pooledBytes = 0;
  liveBuffers = 0;

  readonly #maxPages: number;

  /**
   * `reserved` bytes at the bottom stay out of the allocator (kernel statics, control block);
   * `maxPages` below wasm32's 4 GiB lets tests reach the limit cheaply.
   */
  constructor(reserved: number, initialPages = 256, maxPages = MAX_PAGES) {
    this.#maxPages = Math.min(maxPages, MAX_PAGES);
    this.memory = new WebAssembly.Memory({
      initial: Math.max(initialPages, Math.ceil(reserved / PAGE) + 1),
      maximum: this.#maxPages,
      shared: true,
    });
    this.#top = Math.ceil(reserved / ALIGN) * ALIGN;
  }

  get buffer(): ArrayBufferLike {
    return this.memory.buffer;
  }

  /** Returns a 64-byte aligned block of at least `bytes` bytes (contents undefined). */
  alloc(bytes: number): number {
    const size = bucketBytes(bytes);
    const ptr = this.#pop(size) ?? this.#cut(size) ?? this.#bump(size);
    this.#blockSize.set(ptr, size);
    this.liveBytes += size;
    this.liveBuffers++;
    return ptr;
  }

  #pop(size: number): number | undefined {
    const ptr = this.#free.get(size)?.pop();
    if (ptr !== undefined) this.pooledBytes -= size;
    return ptr;
  }

  /** The front of the first coalesced run long enough. */
  #cut(size: number): number | undefined {
    const k = this.#runs.findIndex((r) => r.size >= size);
    if (k < 0) return undefined;
    const run = this.#runs[k];
    const ptr = run.ptr;
    run.ptr += size;
    run.size -= size;
    if (run.size === 0) this.#runs.splice(k, 1);
    this.pooledBytes -= size;
    return ptr;
  }

  #bump(size: number): number {
    if (!this.#fits(this.#top + size)) {
      this.#compact();
      const ptr = this.#cut(size);
      if (ptr !== undefined) return ptr;
    }
    const ptr = this.#top;
    this.#ensure(ptr + size);
    this.#top = ptr + size;
    return ptr;
  }

  /** Merges every free block with its free neighbours; a run ending at the top lowers it. */
  #compact(): void {
    const blocks = [...this.#runs];
    for (const [size, ptrs] of this.#free) for (const ptr of ptrs) blocks.push({ ptr, size });
    blocks.sort((a, b) => a.ptr - b.ptr);
    const runs: { ptr: number; size: number }[] = [];
    for (const b of blocks) {
      const last = runs[runs.length - 1];
      if (last && last.ptr + last.size === b.ptr) last.size += b.size;
      else runs.push({ ...b });
    }
    const top = runs[runs.length - 1];
    if (top && top.ptr + top.size === this.#top) {
      this.#top = top.ptr;
      runs.pop();
    }
    this.#free.clear();
    this.#runs = runs;
    this.pooledBytes = runs.reduce((n, r) => n + r.size, 0);
  }

  #fits(end: number): boolean {
    return end <= this.#maxPages * PAGE;
  }

  release(ptr: number): void {
    const size = this.#blockSize.get(ptr);
    if (size === undefined) {
      throw new Error(`WASM heap: block at ${ptr} freed twice or never allocated`);
    }
    this.#blockSize.delete(ptr);
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(ptr);
    this.liveBytes -= size;
    this.liveBuffers--;
    this.pooledBytes += size;
  }

  #ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const needed = Math.ceil((end - have) / PAGE);
    const pages = have / PAGE;
    const grow = Math.min(Math.max(needed, Math.ceil(pages / 4)), this.#maxPages - pages);
    if (grow < needed) {
      throw new Error(
        `WASM heap exhausted: ${end} bytes needed, its memory ends at ${this.#maxPages * PAGE} ` +
          `bytes (wasm32: 4 GiB) even after merging the free blocks ` +
          `(${this.liveBytes} bytes live, ${this.pooledBytes} pooled)`,
      );
    }
    this.memory.grow(grow);
  }
}
