/**
 * The WebGPU backend: every op is a WGSL kernel from gpu/shaders/, encoded into batched
 * command buffers; only `read` waits for the GPU.
 */

import type { Backend, DType, MemoryStats, Storage, TypedArray } from "../backend.ts";
import type { GpuRuntime, GpuStorage } from "./runtime.ts";
import * as elementwise from "./elementwise.ts";
import * as layout from "./layout.ts";
import { reduce } from "./reduce.ts";
import { matmul } from "./matmul.ts";
import * as conv from "./conv.ts";
import * as batchnorm from "./batchnorm.ts";
import * as pool from "./pool.ts";
import { softmax } from "./softmax.ts";
import * as loss from "./loss.ts";
import { random } from "./random.ts";
import * as optim from "./optim.ts";

// Storage handles cross the interface untyped; inside this backend they are GpuStorage.
// deno-lint-ignore no-explicit-any
type AnyArgs = any[];

export class WebGpuBackend implements Backend {
  readonly name: string = "webgpu";
  readonly description: string;

  constructor(readonly rt: GpuRuntime) {
    const a = rt.adapter;
    this.description = `webgpu (${a.description}, vendor ${a.vendor}${
      a.isSoftware ? ", software adapter" : ""
    })`;
  }

  upload(data: TypedArray): Storage {
    return this.rt.upload(data);
  }
  zeros(length: number, dtype: DType): Storage {
    return elementwise.fill(this.rt, length, 0, dtype);
  }
  fill(length: number, value: number, dtype: DType): Storage {
    return elementwise.fill(this.rt, length, value, dtype);
  }
  async read(s: Storage): Promise<TypedArray> {
    return (await this.rt.readMany([s as GpuStorage]))[0];
  }
  readMany(list: Storage[]): Promise<TypedArray[]> {
    return this.rt.readMany(list as GpuStorage[]);
  }
  free(s: Storage): void {
    this.rt.release(s as GpuStorage);
  }
  memory(): MemoryStats {
    return this.rt.pool.stats();
  }
  flush(): void {
    this.rt.flush();
  }

  #k = <F extends (rt: GpuRuntime, ...a: AnyArgs) => unknown>(fn: F) => (...a: AnyArgs) =>
    fn(this.rt, ...a);

  unary = this.#k(elementwise.unary) as Backend["unary"];
  binary = this.#k(elementwise.binary) as Backend["binary"];
  cast = this.#k(elementwise.cast) as Backend["cast"];
  axpby = this.#k(elementwise.axpby) as Backend["axpby"];
  gather = this.#k(layout.gather) as Backend["gather"];
  copyInto = this.#k(layout.copyInto) as Backend["copyInto"];
  reduce = this.#k(reduce) as Backend["reduce"];
  matmul = this.#k(matmul) as Backend["matmul"];
  conv2d = this.#k(conv.conv2d) as Backend["conv2d"];
  conv2dGradInput = this.#k(conv.conv2dGradInput) as Backend["conv2dGradInput"];
  conv2dGradWeight = this.#k(conv.conv2dGradWeight) as Backend["conv2dGradWeight"];
  batchNormStats = this.#k(batchnorm.batchNormStats) as Backend["batchNormStats"];
  batchNormApply = this.#k(batchnorm.batchNormApply) as Backend["batchNormApply"];
  batchNormBackward = this.#k(batchnorm.batchNormBackward) as Backend["batchNormBackward"];
  maxPool2d = this.#k(pool.maxPool2d) as Backend["maxPool2d"];
  maxPool2dBackward = this.#k(pool.maxPool2dBackward) as Backend["maxPool2dBackward"];
  avgPool2d = this.#k(pool.avgPool2d) as Backend["avgPool2d"];
  avgPool2dBackward = this.#k(pool.avgPool2dBackward) as Backend["avgPool2dBackward"];
  softmax = this.#k(softmax) as Backend["softmax"];
  bceWithLogits = this.#k(loss.bceWithLogits) as Backend["bceWithLogits"];
  crossEntropy = this.#k(loss.crossEntropy) as Backend["crossEntropy"];
  crossEntropyBackward = this.#k(loss.crossEntropyBackward) as Backend["crossEntropyBackward"];
  oneHot = this.#k(loss.oneHot) as Backend["oneHot"];
  random = this.#k(random) as Backend["random"];
  sgdStep = this.#k(optim.sgdStep) as Backend["sgdStep"];
  adamStep = this.#k(optim.adamStep) as Backend["adamStep"];
}
