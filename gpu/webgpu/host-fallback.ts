/**
 * Runs an op whose registry entry has no WGSL kernel on the WebGPU backend: its result buffers are
 * allocated at once from the entry's `resultSizes`, and a host step (GpuRuntime.hostStep) reads
 * the inputs back, runs the reference on them and writes the results, in order with the kernels
 * around it. An op that returns nothing writes into its storage arguments, which are written
 * back. Each such op says once, on first use, that it makes a host round trip per call.
 */

import { type AnyKernel, invoke, type Sized } from "../kernel.ts";
import { storageArgs } from "../kernel-methods.ts";
import { CpuStorage } from "../cpu/storage.ts";
import { type HostStorage, Storage, type TypedArray } from "../types.ts";
import { type GpuRuntime, GpuStorage } from "./runtime.ts";

const announced = new Set<string>();

/** The op's results on the host, as [storage it goes to, its data] pairs. */
function written(name: string, result: unknown, outputs: unknown): [GpuStorage, TypedArray][] {
  const pairs: [GpuStorage, TypedArray][] = [];
  const check = (want: GpuStorage, got: unknown) => {
    if (!(got instanceof Storage) || got.length !== want.length || got.dtype !== want.dtype) {
      throw new Error(
        `${name} (host fallback): a result does not match its declared ${want.length} x ` +
          want.dtype,
      );
    }
    pairs.push([want, (got as HostStorage).data]);
  };
  if (outputs instanceof GpuStorage) check(outputs, result);
  else if (outputs && typeof outputs === "object") {
    for (const [key, want] of Object.entries(outputs)) {
      check(want as GpuStorage, (result as Record<string, unknown>)[key]);
    }
  }
  return pairs;
}

/** The op `name` through a host round trip; returns its result storages, written later. */
export function runOnHost(
  rt: GpuRuntime,
  name: string,
  entry: AnyKernel,
  args: readonly unknown[],
): unknown {
  if (!entry.resultSizes) throw new Error(`${name}: no WGSL kernel and no declared result sizes`);
  if (!announced.has(name)) {
    announced.add(name);
    console.warn(`webgpu: ${name} has no WGSL kernel; it runs on the host, one round trip a call`);
  }
  const outputs = allocate(rt, invoke(entry.resultSizes, args));
  const inputs = storageArgs(args) as GpuStorage[];
  rt.hostStep(inputs, (data) => {
    const copies = data.map((d) => new CpuStorage(d));
    let next = 0;
    const host = args.map((a) => (a instanceof Storage ? copies[next++] : a));
    let result: unknown;
    try {
      result = invoke(entry.reference, host);
    } catch (err) {
      throw new Error(`${name} (host fallback): ${(err as Error).message}`);
    }
    // Nothing returned: the op wrote into its storage arguments.
    if (outputs === undefined) return inputs.map((s, i) => [s, copies[i].data]);
    return written(name, result, outputs);
  });
  return outputs;
}

/** GPU storages shaped like the declared sizes: one, a record of them, or none. */
function allocate(rt: GpuRuntime, sizes: unknown): unknown {
  if (sizes === undefined || sizes === null) return undefined;
  const one = (s: Sized) => rt.alloc(s.length, s.dtype);
  if (isSized(sizes)) return one(sizes);
  return Object.fromEntries(
    Object.entries(sizes as Record<string, Sized>).map(([key, s]) => [key, one(s)]),
  );
}

function isSized(v: unknown): v is Sized {
  return typeof v === "object" && v !== null && "length" in v && "dtype" in v;
}
