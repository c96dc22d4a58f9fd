/**
 * GPU time per kernel from timestamp queries, so a run on a real GPU says where a training step
 * spends its time: in the kernels (and which), or between them (host work, submits, stalls),
 * which the wall clock alone cannot tell apart. While profiling, the runtime gives each dispatch
 * its own compute pass with a timestamp at either end; that costs a little overlap between
 * kernels, so profiled steps are for reading shares, not for timing the step.
 */

/** One kernel's total over a profile. */
export interface KernelTime {
  /** `family.entry`, as in gpu/shaders/<family>.wgsl. */
  kernel: string;
  calls: number;
  seconds: number;
}

/** Why timestamps cannot be trusted on this device, or null when they can. */
export async function timestampSelfTest(device: GPUDevice): Promise<string | null> {
  if (!device.features.has("timestamp-query")) {
    return "the device has no timestamp-query feature";
  }
  const profiler = new GpuProfiler(device, 1);
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  var s = 0.0;
  for (var i = 0u; i < 256u; i++) { s += sin(f32(i + g.x)); }
  x[g.x] = s;
}`,
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const buffer = device.createBuffer({ size: 64 * 4 * 16, usage: GPUBufferUsage.STORAGE });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer } }],
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass(profiler.passFor("self-test"));
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(16);
  pass.end();
  const afterSubmit = profiler.resolve(encoder);
  device.queue.submit([encoder.finish()]);
  afterSubmit?.();
  const [time] = await profiler.collect();
  buffer.destroy();
  profiler.destroy();
  if (!time || !(time.seconds > 0) || time.seconds > 10) {
    return `timestamps gave ${time?.seconds ?? "nothing"} s for a small kernel`;
  }
  return null;
}

export class GpuProfiler {
  readonly #querySet: GPUQuerySet;
  readonly #resolveBuffer: GPUBuffer;
  /** Kernel names of the passes recorded since the last resolve, in query order. */
  #labels: string[] = [];
  #reads: Promise<void>[] = [];
  #totals = new Map<string, { calls: number; ns: number }>();

  /** `capacity`: the most dispatches between two resolves (the runtime's batch). */
  constructor(private readonly device: GPUDevice, private readonly capacity: number) {
    this.#querySet = device.createQuerySet({ type: "timestamp", count: 2 * capacity });
    this.#resolveBuffer = device.createBuffer({
      size: 16 * capacity,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** The descriptor of the pass that will hold one dispatch of `kernel`. */
  passFor(kernel: string): GPUComputePassDescriptor {
    const index = this.#labels.length;
    if (index >= this.capacity) {
      throw new Error(`GPU profiler: more than ${this.capacity} passes before a resolve`);
    }
    this.#labels.push(kernel);
    return {
      timestampWrites: {
        querySet: this.#querySet,
        beginningOfPassWriteIndex: 2 * index,
        endOfPassWriteIndex: 2 * index + 1,
      },
    };
  }

  /**
   * Records the resolve of this batch's queries into `encoder`; the returned callback, run once
   * the encoder is submitted, starts reading them back (null when nothing was recorded).
   */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const labels = this.#labels;
    if (labels.length === 0) return null;
    this.#labels = [];
    const bytes = 16 * labels.length;
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    encoder.resolveQuerySet(this.#querySet, 0, 2 * labels.length, this.#resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.#resolveBuffer, 0, staging, 0, bytes);
    return () => {
      this.#reads.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const stamps = new BigUint64Array(staging.getMappedRange());
          labels.forEach((kernel, i) => {
            const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
            const total = this.#totals.get(kernel) ?? { calls: 0, ns: 0 };
            total.calls++;
            total.ns += Math.max(ns, 0);
            this.#totals.set(kernel, total);
          });
          staging.unmap();
          staging.destroy();
        }),
      );
    };
  }

  /** Every kernel's total so far, the longest first, once every read has landed. */
  async collect(): Promise<KernelTime[]> {
    const reads = this.#reads;
    this.#reads = [];
    await Promise.all(reads);
    return [...this.#totals].map(([kernel, t]) => ({
      kernel,
      calls: t.calls,
      seconds: t.ns / 1e9,
    })).sort((a, b) => b.seconds - a.seconds);
  }

  destroy(): void {
    this.#querySet.destroy();
    this.#resolveBuffer.destroy();
  }
}
