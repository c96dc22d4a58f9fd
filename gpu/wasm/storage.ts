/**
 * Tensor memory of the WASM backend: a block of the shared heap. `data` is a typed-array view
 * of it, so the TypeScript reference twins in gpu/cpu/ (which read `.data`) run on it unchanged.
 */

import { type DType, type HostStorage, Storage, type TypedArray } from "../types.ts";

export class WasmStorage extends Storage implements HostStorage {
  #view: TypedArray | null;

  constructor(
    readonly ptr: number,
    readonly length: number,
    readonly dtype: DType,
    buffer: ArrayBufferLike,
  ) {
    super();
    this.#view = dtype === "f32"
      ? new Float32Array(buffer, ptr, length)
      : new Int32Array(buffer, ptr, length);
  }

  get data(): TypedArray {
    if (!this.#view) throw new Error("WASM storage used after it was freed");
    return this.#view;
  }

  get freed(): boolean {
    return this.#view === null;
  }

  /** Drops the view so a use after free throws instead of reading recycled memory. */
  markFreed(): void {
    this.#view = null;
  }
}
