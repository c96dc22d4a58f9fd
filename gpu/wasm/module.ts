/**
 * Loads the compiled kernels (kernels.wasm, built by tools/build-wasm.ts from kernels/*.ts).
 * The module imports its memory, so every thread instantiates it over the same shared memory.
 */

/** A parallel kernel: reads its parameter block at `p`, does thread `tid`'s share of `nt`. */
export type TaskFn = (p: number, tid: number, nt: number) => void;

export interface KernelExports {
  gemm_ws_bytes(kc: number, mc: number, nc: number): number;
  packed_a_bytes(m: number, k: number, kc: number): number;
  data_end(): number;
  [name: string]: unknown;
}

let compiled: Promise<WebAssembly.Module> | null = null;

async function wasmBytes(): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL("./kernels.wasm", import.meta.url);
  if (url.protocol === "file:") return await Deno.readFile(url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot fetch ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Compiles kernels.wasm once per process. */
export function kernelModule(): Promise<WebAssembly.Module> {
  compiled ??= wasmBytes().then((bytes) => WebAssembly.compile(bytes)).catch((err) => {
    compiled = null;
    throw new Error(`WASM backend: cannot load gpu/wasm/kernels.wasm: ${err.message}`);
  });
  return compiled;
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** Names of the exported parallel kernels, in a fixed order both sides index by. */
export function taskNames(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .filter((e) => e.kind === "function" && e.name.endsWith("_task"))
    .map((e) => e.name)
    .sort();
}
