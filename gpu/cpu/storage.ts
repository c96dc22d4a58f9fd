import type { DType, Storage, TypedArray } from "../backend.ts";

/** CPU tensor memory: a typed array the twins read and write directly. */
export class CpuStorage implements Storage {
  constructor(readonly data: TypedArray) {}
  get length(): number {
    return this.data.length;
  }
  get dtype(): DType {
    return this.data instanceof Int32Array ? "i32" : "f32";
  }
}

export function f32(s: Storage): Float32Array {
  const data = (s as CpuStorage).data;
  if (!(data instanceof Float32Array)) throw new Error("expected f32 storage, got i32");
  return data;
}

export function i32(s: Storage): Int32Array {
  const data = (s as CpuStorage).data;
  if (!(data instanceof Int32Array)) throw new Error("expected i32 storage, got f32");
  return data;
}

export function wrap(data: TypedArray): CpuStorage {
  return new CpuStorage(data);
}
