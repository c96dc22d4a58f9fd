/**
 * The one shared WebAssembly.Memory every tensor of the WASM backend lives in, with a
 * size-bucketed free-list allocator. Workers run kernels on the same memory, so nothing is
 * copied between threads. Blocks are never coalesced: a training step allocates the same sizes
 * every iteration, so after the first step every allocation is a free-list pop (the same
 * reasoning as the WebGPU buffer pool). Only the main thread allocates.
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
  #blockSize = new Map<number, number>();
  liveBytes = 0;
  pooledBytes = 0;
  liveBuffers = 0;

  /** `reserved` bytes at the bottom stay out of the allocator (kernel statics, control block). */
  constructor(reserved: number, initialPages = 256) {
    this.memory = new WebAssembly.Memory({
      initial: Math.max(initialPages, Math.ceil(reserved / PAGE) + 1),
      maximum: MAX_PAGES,
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
    const list = this.#free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) {
      this.pooledBytes -= size;
    } else {
      ptr = this.#top;
      this.#ensure(ptr + size);
      this.#top = ptr + size;
    }
    this.#blockSize.set(ptr, size);
    this.liveBytes += size;
    this.liveBuffers++;
    return ptr;
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
    const grow = Math.min(Math.max(needed, Math.ceil(pages / 4)), MAX_PAGES - pages);
    if (grow < needed) {
      throw new Error(
        `WASM heap exhausted: ${end} bytes needed, wasm32 memory ends at 4 GiB ` +
          `(${this.liveBytes} bytes live, ${this.pooledBytes} pooled)`,
      );
    }
    this.memory.grow(grow);
  }
}
