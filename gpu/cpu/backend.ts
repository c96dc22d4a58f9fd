/**
 * The CPU backend: plain TypeScript twins of every WGSL kernel. It is the reference the
 * WebGPU kernels are tested against and the fallback where no GPU adapter exists.
 */

import type { Backend, DType, MemoryStats, Storage, TypedArray } from "../backend.ts";
import { CpuStorage, wrap } from "./storage.ts";
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

export class CpuBackend implements Backend {
  readonly name: string = "cpu";
  readonly description: string = "cpu (TypeScript reference kernels)";
  #liveBytes = 0;
  #liveBuffers = 0;
  #live = new WeakSet<Storage>();

  #track<T extends Storage>(s: T): T {
    this.#live.add(s);
    this.#liveBytes += s.length * 4;
    this.#liveBuffers++;
    return s;
  }

  upload(data: TypedArray): Storage {
    return this.#track(wrap(data.slice()));
  }
  zeros(length: number, dtype: DType): Storage {
    return this.#track(wrap(dtype === "i32" ? new Int32Array(length) : new Float32Array(length)));
  }
  fill(length: number, value: number, dtype: DType): Storage {
    const s = this.zeros(length, dtype);
    (s as CpuStorage).data.fill(value);
    return s;
  }
  read(s: Storage): Promise<TypedArray> {
    return Promise.resolve((s as CpuStorage).data.slice());
  }
  readMany(list: Storage[]): Promise<TypedArray[]> {
    return Promise.resolve(list.map((s) => (s as CpuStorage).data.slice()));
  }
  free(s: Storage): void {
    if (!this.#live.has(s)) throw new Error("CPU storage freed twice or not owned by this backend");
    this.#live.delete(s);
    this.#liveBytes -= s.length * 4;
    this.#liveBuffers--;
  }
  memory(): MemoryStats {
    return { liveBytes: this.#liveBytes, pooledBytes: 0, liveBuffers: this.#liveBuffers };
  }
  flush(): void {}

  unary: Backend["unary"] = (...a) => this.#track(elementwise.unary(...a));
  binary: Backend["binary"] = (...a) => this.#track(elementwise.binary(...a));
  cast: Backend["cast"] = (...a) => this.#track(elementwise.cast(...a));
  axpby: Backend["axpby"] = (...a) => this.#track(elementwise.axpby(...a));
  gather: Backend["gather"] = (...a) => this.#track(layout.gather(...a));
  copyInto: Backend["copyInto"] = (...a) => layout.copyInto(...a);
  reduce: Backend["reduce"] = (...a) => this.#track(reduce(...a));
  matmul: Backend["matmul"] = (...a) => this.#track(matmul(...a));
  conv2d: Backend["conv2d"] = (...a) => this.#track(conv.conv2d(...a));
  conv2dGradInput: Backend["conv2dGradInput"] = (...a) => this.#track(conv.conv2dGradInput(...a));
  conv2dGradWeight: Backend["conv2dGradWeight"] = (...a) =>
    this.#track(conv.conv2dGradWeight(...a));
  batchNormStats: Backend["batchNormStats"] = (...a) => {
    const r = batchnorm.batchNormStats(...a);
    return { mean: this.#track(r.mean), variance: this.#track(r.variance) };
  };
  batchNormApply: Backend["batchNormApply"] = (...a) => this.#track(batchnorm.batchNormApply(...a));
  batchNormBackward: Backend["batchNormBackward"] = (...a) => {
    const r = batchnorm.batchNormBackward(...a);
    return { gx: this.#track(r.gx), gGamma: this.#track(r.gGamma), gBeta: this.#track(r.gBeta) };
  };
  maxPool2d: Backend["maxPool2d"] = (...a) => {
    const r = pool.maxPool2d(...a);
    return { y: this.#track(r.y), argmax: this.#track(r.argmax) };
  };
  maxPool2dBackward: Backend["maxPool2dBackward"] = (...a) =>
    this.#track(pool.maxPool2dBackward(...a));
  avgPool2d: Backend["avgPool2d"] = (...a) => this.#track(pool.avgPool2d(...a));
  avgPool2dBackward: Backend["avgPool2dBackward"] = (...a) =>
    this.#track(pool.avgPool2dBackward(...a));
  softmax: Backend["softmax"] = (...a) => this.#track(softmax(...a));
  bceWithLogits: Backend["bceWithLogits"] = (...a) => this.#track(loss.bceWithLogits(...a));
  crossEntropy: Backend["crossEntropy"] = (...a) => {
    const r = loss.crossEntropy(...a);
    return { loss: this.#track(r.loss), weight: this.#track(r.weight) };
  };
  crossEntropyBackward: Backend["crossEntropyBackward"] = (...a) =>
    this.#track(loss.crossEntropyBackward(...a));
  oneHot: Backend["oneHot"] = (...a) => this.#track(loss.oneHot(...a));
  random: Backend["random"] = (...a) => this.#track(random(...a));
  sgdStep: Backend["sgdStep"] = (...a) => optim.sgdStep(...a);
  adamStep: Backend["adamStep"] = (...a) => optim.adamStep(...a);
}
