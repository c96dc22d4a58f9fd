import { type DType, type HostStorage, Storage, type TypedArray } from "../types.ts";

/** CPU tensor memory: a typed array the reference implementations read and write directly. */
export class CpuStorage extends Storage implements HostStorage {
  constructor(readonly data: TypedArray) {
    super();
  }
  get length(): number {
    return this.data.length;
  }
  get dtype(): DType {
    return this.data instanceof Int32Array ? "i32" : "f32";
  }
}

export function f32(s: HostStorage): Float32Array {
  const data = s.data;
  if (!(data instanceof Float32Array)) throw new Error("expected f32 storage, got i32");
  return data;
}

export function i32(s: HostStorage): Int32Array {
  const data = s.data;
  if (!(data instanceof Int32Array)) throw new Error("expected i32 storage, got f32");
  return data;
}

export function wrap(data: TypedArray): CpuStorage {
  return new CpuStorage(data);
}
