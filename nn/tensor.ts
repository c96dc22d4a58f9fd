/**
 * Tensor: a shape, a dtype and backend storage, plus what reverse-mode autodiff needs
 * (`requiresGrad`, `grad`, the node that made it). Dispatch is synchronous; `await data()` is the
 * only wait. Storage is reference-counted so reshapes and detached views share memory safely.
 */

import type { Backend, DType, Storage, TypedArray } from "../gpu/backend.ts";
import { sizeOf } from "../gpu/backend.ts";
import { CpuBackend } from "../gpu/cpu/backend.ts";
import { track } from "./scope.ts";

/** How a tensor was made: its inputs and the rule giving their gradients from its own. */
export interface GradNode {
  inputs: Tensor[];
  backward: (grad: Tensor) => (Tensor | null | undefined)[];
  op: string;
}

class StorageRef {
  refs = 1;
  constructor(readonly backend: Backend, readonly storage: Storage) {}
  release(): void {
    if (--this.refs === 0) this.backend.free(this.storage);
  }
}

let defaultBackend: Backend = new CpuBackend();

/** The backend new tensors go to when no input decides it. */
export function setDefaultBackend(backend: Backend): void {
  defaultBackend = backend;
}

export function getDefaultBackend(): Backend {
  return defaultBackend;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  #ref: StorageRef | null;
  requiresGrad = false;
  grad: Tensor | null = null;
  node: GradNode | null = null;
  /** Parameter or buffer name, for error messages and state dicts. */
  name = "";

  constructor(ref: StorageRef, shape: readonly number[]) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    if (ref.storage.length !== this.size) {
      throw new Error(`tensor of shape [${shape}] given storage of ${ref.storage.length} elements`);
    }
    this.#ref = ref;
    track(this);
  }

  /** Wraps storage a backend just produced. */
  static fromStorage(backend: Backend, storage: Storage, shape: readonly number[]): Tensor {
    return new Tensor(new StorageRef(backend, storage), shape);
  }

  get backend(): Backend {
    return this.#live().backend;
  }
  get storage(): Storage {
    return this.#live().storage;
  }
  get dtype(): DType {
    return this.#live().storage.dtype;
  }
  get rank(): number {
    return this.shape.length;
  }
  get disposed(): boolean {
    return this.#ref === null;
  }

  #live(): StorageRef {
    if (!this.#ref) throw new Error(`tensor ${this.name || `[${this.shape}]`} used after dispose`);
    return this.#ref;
  }

  /** A tensor of another shape over the same storage (no copy). */
  withShape(shape: readonly number[]): Tensor {
    const ref = this.#live();
    ref.refs++;
    return new Tensor(ref, shape);
  }

  /** Same values, cut from the graph. */
  detach(): Tensor {
    return this.withShape(this.shape);
  }

  dispose(): void {
    if (!this.#ref) return;
    this.#ref.release();
    this.#ref = null;
    this.node = null;
  }

  data(): Promise<TypedArray> {
    return this.backend.read(this.storage);
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item() of a tensor of shape [${this.shape}]`);
    return (await this.data())[0];
  }

  toString(): string {
    return `Tensor(${
      this.name ? this.name + ", " : ""
    }[${this.shape}], ${this.dtype}, ${this.backend.name})`;
  }
}

export interface TensorOptions {
  backend?: Backend;
  requiresGrad?: boolean;
}

function checkShape(length: number, shape: readonly number[]): void {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`invalid shape [${shape}]`);
  if (sizeOf(shape) !== length) {
    throw new Error(`${length} values do not fill shape [${shape}] (${sizeOf(shape)} elements)`);
  }
}

/** Builds a tensor from values (f32 unless an Int32Array is given). */
export function tensor(
  values: TypedArray | number[],
  shape?: readonly number[],
  options: TensorOptions = {},
): Tensor {
  const data = Array.isArray(values) ? Float32Array.from(values) : values;
  const s = shape ?? [data.length];
  checkShape(data.length, s);
  const backend = options.backend ?? defaultBackend;
  const t = Tensor.fromStorage(backend, backend.upload(data), s);
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}

export function full(
  shape: readonly number[],
  value: number,
  options: TensorOptions & { dtype?: DType } = {},
): Tensor {
  checkShape(sizeOf(shape), shape);
  const backend = options.backend ?? defaultBackend;
  const t = Tensor.fromStorage(
    backend,
    backend.fill(sizeOf(shape), value, options.dtype ?? "f32"),
    shape,
  );
  t.requiresGrad = options.requiresGrad ?? false;
  return t;
}

export function zeros(shape: readonly number[], options: TensorOptions & { dtype?: DType } = {}) {
  return full(shape, 0, options);
}

export function ones(shape: readonly number[], options: TensorOptions & { dtype?: DType } = {}) {
  return full(shape, 1, options);
}
