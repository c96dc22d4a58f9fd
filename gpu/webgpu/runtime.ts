/**
 * The WebGPU runtime: one device, a buffer pool, a pipeline cache, command batching and
 * readback. A kernel is data (`Kernel`); `run` is the single place that caches, binds,
 * batches and dispatches it, so op families never touch the WebGPU API.
 */

import { type DType, Storage, type TypedArray } from "../types.ts";
import { BufferPool } from "./buffer-pool.ts";
import { OrderedQueue } from "./ordered-queue.ts";
import { GpuProfiler, type KernelTime, timestampSelfTest } from "./profiler.ts";
import { kernelSource } from "./shader-source.ts";
import type { TunedTiles } from "./tuned-tiles.ts";

/** A GPU tensor's memory: a pooled buffer that may be larger than the tensor. */
export class GpuStorage extends Storage {
  constructor(
    readonly buffer: GPUBuffer,
    readonly length: number,
    readonly dtype: DType,
  ) {
    super();
  }
  freed = false;
  get byteLength(): number {
    return this.length * 4;
  }
}

/** One uniform field, written in declaration order into the kernel's `Params` struct. */
export type ParamValue = { u32: number } | { i32: number } | { f32: number };

/** A kernel as data: which WGSL section, how it is specialised, dispatched and bound. */
export interface Kernel {
  family: string;
  entry: string;
  defines?: Record<string, string | number>;
  workgroupSize: readonly [number, number, number];
  dispatch: readonly [number, number, number];
  params: readonly ParamValue[];
  inputs: readonly GpuStorage[];
  outputs: readonly GpuStorage[];
}

const PARAM_SLOT = 256;
const MAX_BATCH = 256;
const MAX_GROUPS = 65535;

/**
 * Which tile shapes the GEMM and convolution kernels take: large register tiles fed straight
 * from memory for a CPU-run software adapter, small ones staged through workgroup memory for a
 * GPU (matmul.ts, conv-tile.ts).
 */
export type TileClass = "software" | "hardware";

export interface AdapterReport {
  description: string;
  vendor: string;
  isSoftware: boolean;
  /** The adapter's kind unless asked otherwise (tests run the hardware tiles on lavapipe). */
  tiles: TileClass;
  /** Hardware tiles measured on this adapter by `deno task tune`, if any (tuned-tiles.ts). */
  tuned: TunedTiles | null;
}

export class GpuRuntime {
  readonly pool: BufferPool;
  #pipelines = new Map<string, GPUComputePipeline>();
  #layouts = new Map<string, GPUBindGroupLayout>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  /** Commands in the current batch (dispatches and copies): freed buffers wait for them. */
  #pending = 0;
  /** Dispatches in the current batch, each with its slot of the uniform buffer. */
  #slots = 0;
  #paramBytes = new ArrayBuffer(PARAM_SLOT * MAX_BATCH);
  #paramBuffer: GPUBuffer;
  #deferredRelease: GPUBuffer[] = [];
  /** WebGPU reports shader and validation errors asynchronously; they surface at the next read. */
  #errors: string[] = [];
  #pendingChecks: Promise<void>[] = [];
  /** Submits and writes in program order around host steps (ordered-queue.ts). */
  #queue = new OrderedQueue((err) => this.#errors.push((err as Error).message ?? String(err)));
  dispatchCount = 0;

  /** Compiled pipelines, one per kernel specialisation: a count that grows per call is a leak. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }
  /**
   * Whether f16 GEMMs hold their staged tiles in f16 workgroup memory: set only by
   * gpu/webgpu/half-tiles.ts once the adapter's shader-f16 passed its self-test.
   */
  halfShared = false;
  #profiler: GpuProfiler | null = null;
  #timestampCheck: Promise<string | null> | null = null;

  constructor(readonly device: GPUDevice, readonly adapter: AdapterReport, maxBufferSize: number) {
    this.pool = new BufferPool(device, maxBufferSize);
    this.#paramBuffer = device.createBuffer({
      size: PARAM_SLOT * MAX_BATCH,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.addEventListener("uncapturederror", (event) => {
      this.#errors.push((event as GPUUncapturedErrorEvent).error.message);
    });
  }

  alloc(length: number, dtype: DType): GpuStorage {
    return new GpuStorage(this.pool.acquire(Math.max(length, 1) * 4), length, dtype);
  }

  /** Frees a buffer once the commands already queued no longer read it. */
  release(s: GpuStorage): void {
    if (s.freed) throw new Error("GPU storage freed twice");
    s.freed = true;
    if (this.#pending > 0) this.#deferredRelease.push(s.buffer);
    else this.pool.release(s.buffer);
  }

  upload(data: TypedArray): GpuStorage {
    const dtype: DType = data instanceof Int32Array ? "i32" : "f32";
    const s = this.alloc(data.length, dtype);
    this.write(s, data);
    return s;
  }

  /** Queue writes land before any later submit, so queued kernels must be submitted first. */
  write(s: GpuStorage, data: TypedArray): void {
    this.flush();
    if (data.length === 0) return;
    // Held back behind a host step, the write must not see later changes to the caller's array.
    const bytes = (this.#queue.busy ? data.slice() : data) as Float32Array<ArrayBuffer>;
    this.#queue.do(() => this.device.queue.writeBuffer(s.buffer, 0, bytes));
  }

  /** Splits `groups` workgroups over x and y when it exceeds the 65,535 per-dimension limit. */
  static grid(groups: number): [number, number, number] {
    if (groups <= MAX_GROUPS) return [Math.max(groups, 1), 1, 1];
    const y = Math.ceil(groups / MAX_GROUPS);
    return [Math.ceil(groups / y), y, 1];
  }

  #layout(inputs: number, outputs: number): GPUBindGroupLayout {
    const key = `${inputs}:${outputs}`;
    let layout = this.#layouts.get(key);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [{
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform" },
      }];
      for (let i = 0; i < inputs + outputs; i++) {
        entries.push({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: i < inputs ? "read-only-storage" : "storage" },
        });
      }
      layout = this.device.createBindGroupLayout({ entries });
      this.#layouts.set(key, layout);
    }
    return layout;
  }

  #pipeline(k: Kernel): GPUComputePipeline {
    const [x, y, z] = k.workgroupSize;
    const defines = { ...k.defines, WG_X: x, WG_Y: y, WG_Z: z, WG_SIZE: x * y * z };
    const key = `${k.family}.${k.entry}|${k.inputs.length}|${k.outputs.length}|${
      JSON.stringify(defines)
    }`;
    let pipeline = this.#pipelines.get(key);
    if (!pipeline) {
      const code = kernelSource(k.family, k.entry, defines);
      const label = `${k.family}.${k.entry}`;
      this.device.pushErrorScope("validation");
      const module = this.device.createShaderModule({ code, label });
      pipeline = this.device.createComputePipeline({
        label: `${k.family}.${k.entry}`,
        layout: this.device.createPipelineLayout({
          bindGroupLayouts: [this.#layout(k.inputs.length, k.outputs.length)],
        }),
        compute: { module, entryPoint: "main" },
      });
      this.#pendingChecks.push(
        this.device.popErrorScope().then((error) => {
          if (error) {
            this.#errors.push(`gpu/shaders/${k.family}.wgsl kernel ${k.entry}: ${error.message}`);
          }
        }),
      );
      this.#pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Encodes one dispatch into the current batch; submits every MAX_BATCH dispatches. */
  run(k: Kernel): void {
    for (const s of [...k.inputs, ...k.outputs]) {
      if (s.freed) throw new Error(`${k.family}.${k.entry}: a bound buffer was already freed`);
    }
    if (k.dispatch.some((d) => d > MAX_GROUPS)) {
      throw new Error(`${k.family}.${k.entry}: dispatch ${k.dispatch} exceeds 65535`);
    }
    if (k.dispatch.some((d) => d === 0)) return;
    const pipeline = this.#pipeline(k);
    const slot = this.#slots;
    const view = new DataView(this.#paramBytes, slot * PARAM_SLOT, PARAM_SLOT);
    if (k.params.length * 4 > PARAM_SLOT) {
      throw new Error(`${k.family}.${k.entry}: too many params`);
    }
    k.params.forEach((p, i) => {
      if ("u32" in p) view.setUint32(i * 4, p.u32, true);
      else if ("i32" in p) view.setInt32(i * 4, p.i32, true);
      else view.setFloat32(i * 4, p.f32, true);
    });
    const entries: GPUBindGroupEntry[] = [{
      binding: 0,
      resource: { buffer: this.#paramBuffer, offset: slot * PARAM_SLOT, size: PARAM_SLOT },
    }];
    [...k.inputs, ...k.outputs].forEach((s, i) =>
      entries.push({
        binding: i + 1,
        resource: { buffer: s.buffer, offset: 0, size: Math.max(s.byteLength, 4) },
      })
    );
    const bindGroup = this.device.createBindGroup({
      layout: this.#layout(k.inputs.length, k.outputs.length),
      entries,
    });
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder();
    if (this.#profiler) {
      // a pass of its own, with a timestamp at either end
      this.#pass?.end();
      this.#pass = this.#encoder.beginComputePass(this.#profiler.passFor(`${k.family}.${k.entry}`));
    } else if (!this.#pass) this.#pass = this.#encoder.beginComputePass();
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    this.#pass.dispatchWorkgroups(k.dispatch[0], k.dispatch[1], k.dispatch[2]);
    if (this.#profiler) {
      this.#pass.end();
      this.#pass = null;
    }
    this.#pending++;
    this.#slots++;
    this.dispatchCount++;
    if (this.#slots >= MAX_BATCH) this.flush();
  }

  /**
   * Copies `length` elements of `src` from `srcAt` into `dst` at `dstAt`, in order with the
   * kernels around it: a buffer copy, with no pipeline, bind group or uniform slot (the
   * optimisers pack a group's parameters with it).
   */
  copyElements(src: GpuStorage, srcAt: number, dst: GpuStorage, dstAt: number, length: number) {
    for (const s of [src, dst]) if (s.freed) throw new Error("copy of a freed GPU storage");
    if (srcAt < 0 || dstAt < 0 || srcAt + length > src.length || dstAt + length > dst.length) {
      throw new Error(
        `copy of ${length} elements from ${srcAt} of ${src.length} to ${dstAt} of ${dst.length}`,
      );
    }
    if (length > 0) this.copy(src.buffer, srcAt * 4, dst.buffer, dstAt * 4, length * 4);
  }

  /** Records a buffer copy in the current batch (readback staging, concat). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (!this.#encoder) this.#encoder = this.device.createCommandEncoder();
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.#pending++;
  }

  flush(): void {
    if (!this.#encoder) return;
    if (this.#pass) this.#pass.end();
    const readTimestamps = this.#profiler?.resolve(this.#encoder) ?? null;
    const commands = this.#encoder.finish();
    const params = this.#queue.busy ? this.#paramBytes.slice(0) : this.#paramBytes;
    this.#queue.do(() => {
      this.device.queue.writeBuffer(this.#paramBuffer, 0, params, 0, PARAM_SLOT * MAX_BATCH);
      this.device.queue.submit([commands]);
      readTimestamps?.();
    });
    this.#encoder = null;
    this.#pass = null;
    this.#pending = 0;
    this.#slots = 0;
    for (const b of this.#deferredRelease) this.pool.release(b);
    this.#deferredRelease = [];
  }

  /**
   * Starts timing every dispatch on the GPU (profiler.ts), once timestamps have passed their
   * self-test on this device; throws naming the reason where they cannot be used.
   */
  async startProfile(): Promise<void> {
    this.#timestampCheck ??= timestampSelfTest(this.device);
    const reason = await this.#timestampCheck;
    if (reason) throw new Error(`GPU profiling is unavailable: ${reason}`);
    if (this.#profiler) throw new Error("a GPU profile is already running");
    this.flush();
    this.#profiler = new GpuProfiler(this.device, MAX_BATCH);
  }

  /** Ends the profile: GPU seconds per kernel since startProfile, the longest first. */
  async stopProfile(): Promise<KernelTime[]> {
    const profiler = this.#profiler;
    if (!profiler) throw new Error("no GPU profile is running");
    this.flush();
    this.#profiler = null;
    await this.#queue.idle();
    const times = await profiler.collect();
    profiler.destroy();
    return times;
  }

  /** Throws the shader or validation errors WebGPU reported since the last check. */
  async checkErrors(): Promise<void> {
    const checks = this.#pendingChecks;
    this.#pendingChecks = [];
    await Promise.all(checks);
    if (this.#errors.length > 0) {
      const errors = this.#errors;
      this.#errors = [];
      throw new Error(`WebGPU reported ${errors.length} error(s):\n${errors.join("\n")}`);
    }
  }

  /**
   * Copies several storages into one staging buffer behind the work queued so far; `read` maps
   * it once every copy has been submitted: one GPU stall for them all.
   */
  #stage(list: readonly GpuStorage[]): { read: () => Promise<TypedArray[]> } {
    const offsets: number[] = [];
    let total = 0;
    for (const s of list) {
      if (s.freed) throw new Error("cannot read a freed GPU storage");
      offsets.push(total);
      total += Math.ceil(s.byteLength / 4) * 4;
    }
    const empty = () =>
      list.map((s) => s.dtype === "i32" ? new Int32Array(0) : new Float32Array(0));
    if (total === 0) return { read: () => Promise.resolve(empty()) };
    const staging = this.device.createBuffer({
      size: total,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    list.forEach((s, i) => {
      if (s.byteLength > 0) this.copy(s.buffer, 0, staging, offsets[i], s.byteLength);
    });
    this.flush();
    const read = async () => {
      await staging.mapAsync(GPUMapMode.READ);
      const bytes = staging.getMappedRange().slice(0);
      staging.unmap();
      staging.destroy();
      return list.map((s, i) =>
        s.dtype === "i32"
          ? new Int32Array(bytes, offsets[i], s.length)
          : new Float32Array(bytes, offsets[i], s.length)
      );
    };
    return { read };
  }

  /** Reads several storages with one staging buffer and one map: one GPU stall in all. */
  async readMany(list: readonly GpuStorage[]): Promise<TypedArray[]> {
    const staged = this.#stage(list);
    await this.#queue.idle();
    const arrays = await staged.read();
    await this.checkErrors();
    return arrays;
  }

  /**
   * Runs `compute` on host copies of `inputs` after every command issued so far, and writes the
   * arrays it returns into their storages before any command issued later reaches the GPU. The
   * caller goes on at once (dispatch stays synchronous); errors surface at the next read.
   */
  hostStep(
    inputs: readonly GpuStorage[],
    compute: (data: TypedArray[]) => [GpuStorage, TypedArray][],
  ): void {
    const staged = this.#stage(inputs);
    this.#queue.await(async () => {
      for (const [s, data] of compute(await staged.read())) {
        if (data.length > 0) {
          this.device.queue.writeBuffer(s.buffer, 0, data as Float32Array<ArrayBuffer>);
        }
      }
    });
  }
}
