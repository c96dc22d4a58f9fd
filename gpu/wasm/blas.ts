/**
 * An optional system BLAS (OpenBLAS) reached through Deno's FFI, for the GEMMs of the WASM
 * backend. Deno compiles WebAssembly with explicit bounds checks (denoland/deno#35658), which cap
 * the SIMD micro-kernel at ~27 GFLOP/s per core on this machine; OpenBLAS's native kernels run
 * the same 1024^3 GEMM at ~59 (gpu/wasm/README.md). The library reads and writes the WASM heap in
 * place: the shared memory never moves, so a heap offset is a stable native address.
 *
 * Each kernel thread calls the single-threaded library on its own share of the work, so the
 * backend's thread pool stays the one source of parallelism (an OpenBLAS pool of its own would
 * spin against ours).
 */

/** Environment variable: `off` disables the BLAS, a path loads that library instead. */
export const BLAS_ENV = "SDU_BLAS";

/** Library names tried in turn when SDU_BLAS names none (OpenBLAS, as Debian and brew ship it). */
const CANDIDATES: Record<string, string[]> = {
  linux: ["libopenblas.so.0", "libopenblas.so"],
  darwin: [
    "libopenblas.dylib",
    "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
    "/usr/local/opt/openblas/lib/libopenblas.dylib",
  ],
  windows: ["libopenblas.dll", "openblas.dll"],
};

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "pointer",
      "i32",
      "pointer",
      "i32",
      "f32",
      "pointer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
} as const;

/** One GEMM on heap byte offsets: C = A' x B' + beta C, row-major, ' = transposed when asked. */
export interface GemmCall {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  a: number;
  lda: number;
  b: number;
  ldb: number;
  beta: number;
  c: number;
  ldc: number;
}

/** A loaded library bound to one WebAssembly.Memory (one per thread that calls it). */
export class Blas {
  #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  #memory: WebAssembly.Memory;
  #buffer: ArrayBufferLike | null = null;
  #base = 0n;

  constructor(readonly path: string, memory: WebAssembly.Memory) {
    this.#lib = Deno.dlopen(path, SYMBOLS);
    this.#memory = memory;
    this.#lib.symbols.openblas_set_num_threads?.(1);
  }

  #at(offset: number): Deno.PointerValue {
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(buffer)));
    }
    return Deno.UnsafePointer.create(this.#base + BigInt(offset));
  }

  sgemm(g: GemmCall): void {
    this.#lib.symbols.cblas_sgemm(
      ROW_MAJOR,
      g.transA ? TRANS : NO_TRANS,
      g.transB ? TRANS : NO_TRANS,
      g.m,
      g.n,
      g.k,
      1,
      this.#at(g.a),
      g.lda,
      this.#at(g.b),
      g.ldb,
      g.beta,
      this.#at(g.c),
      g.ldc,
    );
  }

  close(): void {
    this.#lib.close();
  }
}

/** What `findBlas` settled on: a library path, or null and why not. */
export interface BlasChoice {
  path: string | null;
  reason: string;
}

function envSetting(): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: BLAS_ENV }).state !== "granted") {
      return undefined;
    }
    return Deno.env.get(BLAS_ENV)?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds a BLAS and proves it on a small GEMM against a plain loop (a library that answers
 * wrongly is refused, not trusted). `setting` overrides SDU_BLAS: `off`, or a library path,
 * which must then load (a wrong path is an error naming it, not a silent fallback). Without FFI
 * permission, or with no library found, the answer is null with the reason.
 */
export function findBlas(setting = envSetting()): BlasChoice {
  if (setting === "off") return { path: null, reason: `${BLAS_ENV}=off` };
  if (typeof Deno.dlopen !== "function") return { path: null, reason: "no FFI in this runtime" };
  // Asked, not requested: a run without --allow-ffi falls back quietly instead of prompting.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { path: null, reason: "no FFI permission (--allow-ffi)" };
  }
  const tried: string[] = [];
  for (const path of setting ? [setting] : CANDIDATES[Deno.build.os] ?? []) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    let blas: Blas;
    try {
      blas = new Blas(path, memory);
    } catch (err) {
      const e = err as Error;
      if (setting) throw new Error(`${BLAS_ENV}=${setting}: cannot load it: ${e.message}`);
      tried.push(path);
      continue;
    }
    try {
      selfTest(blas, memory);
    } catch (err) {
      if (setting) throw new Error(`${BLAS_ENV}=${setting}: ${(err as Error).message}`);
      tried.push(`${path} (${(err as Error).message})`);
      continue;
    } finally {
      blas.close();
    }
    return { path, reason: `${path} found` };
  }
  return {
    path: null,
    reason: `no OpenBLAS found (tried ${
      tried.join(", ")
    }; Debian: apt install libopenblas0-pthread)`,
  };
}

/** C = A x B' on a 5 x 7 x 3 case at an unaligned offset, compared with a plain loop. */
function selfTest(blas: Blas, memory: WebAssembly.Memory): void {
  const [m, n, k] = [5, 7, 3];
  const base = 12;
  const f = new Float32Array(memory.buffer, base, m * k + n * k + m * n);
  for (let i = 0; i < m * k + n * k; i++) f[i] = ((i * 7) % 11) - 5;
  f.fill(99, m * k + n * k);
  blas.sgemm({
    transA: false,
    transB: true,
    m,
    n,
    k,
    a: base,
    lda: k,
    b: base + m * k * 4,
    ldb: k,
    beta: 0,
    c: base + (m * k + n * k) * 4,
    ldc: n,
  });
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let want = 0;
      for (let t = 0; t < k; t++) want += f[i * k + t] * f[m * k + j * k + t];
      const got = f[m * k + n * k + i * n + j];
      if (got !== want) throw new Error(`self-test: C[${i},${j}] = ${got}, expected ${want}`);
    }
  }
}
