/**
 * Size-bucketed GPU buffer pool. WebGPU buffers are only released at garbage collection unless
 * destroyed, so tensors hand their buffers back here and the next allocation of a similar size
 * reuses them; training then runs in constant GPU memory.
 */

const USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

/** Rounds a byte size up to its bucket: 256-byte steps when small, 8 steps per power of two. */
export function bucketSize(bytes: number): number {
  const min = Math.max(bytes, 16);
  if (min <= 4096) return Math.ceil(min / 256) * 256;
  const octave = 2 ** Math.floor(Math.log2(min));
  const step = octave / 8;
  return Math.ceil(min / step) * step;
}

export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #liveBytes = 0;
  #liveBuffers = 0;
  #pooledBytes = 0;

  constructor(private readonly device: GPUDevice, private readonly maxBufferSize: number) {}

  acquire(bytes: number): GPUBuffer {
    const size = bucketSize(bytes);
    if (size > this.maxBufferSize) {
      throw new Error(
        `WebGPU buffer of ${bytes} bytes exceeds the adapter's maxBufferSize ${this.maxBufferSize}`,
      );
    }
    const list = this.#free.get(size);
    let buffer = list?.pop();
    if (buffer) this.#pooledBytes -= size;
    else buffer = this.device.createBuffer({ size, usage: USAGE });
    this.#liveBytes += size;
    this.#liveBuffers++;
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
    this.#liveBytes -= size;
    this.#liveBuffers--;
    this.#pooledBytes += size;
  }

  /** Destroys every pooled (unused) buffer, e.g. between experiments of different sizes. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
  }

  stats(): { liveBytes: number; pooledBytes: number; liveBuffers: number } {
    return {
      liveBytes: this.#liveBytes,
      pooledBytes: this.#pooledBytes,
      liveBuffers: this.#liveBuffers,
    };
  }
}
