/**
 * The building blocks of the typed kernel registry (gpu/registry.ts). An op is one entry: its
 * signature (argument and result types, written against the opaque `Storage`), its reference
 * implementation, and optional WebGPU and WASM implementations. `kernel<F>()` checks every
 * implementation against the signature with that backend's own storage type put in, so a
 * missing reference or a mis-typed implementation is a compile error, and a backend without an
 * implementation of its own runs the reference by declaration (gpu/kernel-methods.ts).
 */

import type { DType, HostStorage, Storage } from "./types.ts";
import type { GpuRuntime, GpuStorage } from "./webgpu/runtime.ts";
import type { WasmRuntime } from "./wasm/runtime.ts";
import type { WasmStorage } from "./wasm/storage.ts";

/** Any op signature; the top type of functions (every function is assignable to it). */
export type Signature = (...args: never[]) => unknown;

/** `T` with every `Storage` in it (arguments, result fields) replaced by a backend's `S`. */
export type On<T, S> = T extends Storage ? S
  : T extends readonly unknown[] ? { [K in keyof T]: On<T[K], S> }
  : T extends Readonly<Record<string, Storage>> ? { [K in keyof T]: On<T[K], S> }
  : T;

type Args<F extends Signature> = Parameters<F>;
type Result<F extends Signature> = ReturnType<F>;

/** The reference runs on any storage the host can read: CPU arrays and WASM heap views. */
export type ReferenceImpl<F extends Signature> = (
  ...args: On<Args<F>, HostStorage>
) => On<Result<F>, HostStorage>;

export type WebGpuImpl<F extends Signature> = (
  rt: GpuRuntime,
  ...args: On<Args<F>, GpuStorage>
) => On<Result<F>, GpuStorage>;

export type WasmImpl<F extends Signature> = (
  rt: WasmRuntime,
  ...args: On<Args<F>, WasmStorage>
) => On<Result<F>, WasmStorage>;

/** Length and dtype of one result storage. */
export interface Sized {
  length: number;
  dtype: DType;
}

/**
 * The sizes of an op's results from its arguments. The WebGPU backend needs them to run the
 * reference in its place: dispatch is synchronous, so the result buffers are handed out before
 * the host has the inputs (gpu/webgpu/host-fallback.ts). Ops that return nothing write into
 * their storage arguments and return no sizes.
 */
export type ResultSizes<F extends Signature> = (...args: Args<F>) => On<Result<F>, Sized>;

/** With a WGSL kernel, or without one and with the sizes the host round trip allocates. */
type WebGpuPart<F extends Signature> =
  | { readonly webgpu: WebGpuImpl<F>; readonly resultSizes?: undefined }
  | { readonly webgpu?: undefined; readonly resultSizes: ResultSizes<F> };

/** One registry entry; `signature` is a phantom that carries F to the `Backend` type. */
export type Kernel<F extends Signature> = {
  readonly reference: ReferenceImpl<F>;
  readonly wasm?: WasmImpl<F>;
  readonly signature?: F;
} & WebGpuPart<F>;

/** Declares one op: `kernel<(x: Storage, ...) => Storage>({ reference, webgpu, wasm })`. */
export function kernel<F extends Signature>(entry: Kernel<F>): Kernel<F> {
  return entry;
}

/** What every entry is, whatever its signature: what the backends' generic wiring reads. */
export interface AnyKernel {
  readonly reference: Signature;
  readonly webgpu?: (rt: GpuRuntime, ...args: never[]) => unknown;
  readonly wasm?: (rt: WasmRuntime, ...args: never[]) => unknown;
  readonly resultSizes?: Signature;
  readonly signature?: Signature;
}

/** A family's entries by op name (`satisfies KernelTable` keeps each entry's own type). */
export type KernelTable = Readonly<Record<string, AnyKernel>>;

/** Calls an entry's implementation with arguments the wiring forwards unchanged. */
export function invoke(fn: Signature, args: readonly unknown[]): unknown {
  return Reflect.apply(fn, undefined, args);
}
