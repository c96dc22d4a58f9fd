/**
 * Shared by the WASM backend tests: the WASM backend with its own GEMM on 1 thread and
 * force-split (support/backends.ts, so work splits see tiny and uneven shares), the force-split
 * one with the system BLAS's GEMMs where one is found, and a comparison that runs one op on the
 * TypeScript reference and on each.
 */

import type { Backend } from "../../gpu/backend.ts";
import { createWasmBackend } from "../../gpu/wasm/backend.ts";
import { assertClose } from "./assert.ts";
import { cpu, wasmSplitBackend } from "./backends.ts";

export const single: Backend = await createWasmBackend(1, { blas: false });
export const multi: Backend = await wasmSplitBackend(false);
const blasSplit = await wasmSplitBackend(true);
/** The force-split backend with BLAS GEMMs, or null where no BLAS was found. */
export const blas: Backend | null = blasSplit.rt.blas.path ? blasSplit : null;
export const WASM: Backend[] = blas ? [single, multi, blas] : [single, multi];

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
