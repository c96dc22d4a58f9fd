/**
 * Shared by the WASM backend tests: the TypeScript reference (the oracle), the WASM backend on 1
 * thread and on 3 threads with every kernel forced parallel (so work splits see tiny and uneven
 * shares), and a comparison that runs one op on all of them.
 */

import type { Backend } from "../../gpu/backend.ts";
import { CpuBackend } from "../../gpu/cpu/backend.ts";
import { uniformAt } from "../../gpu/random-hash.ts";
import { createWasmBackend, type WasmBackend } from "../../gpu/wasm/backend.ts";
import { assertClose } from "./assert.ts";

export const cpu = new CpuBackend();
export const single = await createWasmBackend(1);
export const multi = await createWasmBackend(3);
multi.rt.alwaysParallel = true;
export const WASM: WasmBackend[] = [single, multi];

export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => lo + (hi - lo) * uniformAt(i, seed));
}

export async function read(b: Backend, s: ReturnType<Backend["upload"]>): Promise<Float32Array> {
  const out = await b.read(s);
  b.free(s);
  return out as Float32Array;
}

/** Runs `op` on the reference and on every WASM backend and compares the outputs. */
export async function same(
  label: string,
  inputs: (Float32Array | Int32Array)[],
  op: (b: Backend, s: ReturnType<Backend["upload"]>[]) => ReturnType<Backend["upload"]>,
  tol = { rtol: 1e-4, atol: 1e-5 },
  expected?: ArrayLike<number>,
): Promise<void> {
  const want = expected ?? await read(cpu, op(cpu, inputs.map((v) => cpu.upload(v))));
  for (const b of WASM) {
    const ins = inputs.map((v) => b.upload(v));
    const out = op(b, ins);
    assertClose(await read(b, out), want, `${label} [${b.description}]`, tol);
    ins.forEach((s) => s !== out && b.free(s));
  }
}
