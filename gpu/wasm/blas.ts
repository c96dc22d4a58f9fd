/**
 * An optional system BLAS (OpenBLAS) reached through Deno's FFI, for the GEMMs of the WASM
 * backend. Deno compiles WebAssembly with explicit bounds checks (denoland/deno#35658), which cap
 * the SIMD micro-kernel at ~27 GFLOP/s per core on this machine; OpenBLAS's native kernels run
 * the same 1024^3 GEMM at ~59 (gpu/wasm/README.md). The library reads and writes the WASM heap in
 * place: the shared memory never moves, so a heap offset is a stable native address.
 *
 * Each kernel thread calls the library on its own share of the work, so the backend's thread
 * pool stays the one source of parallelism, and OpenBLAS is loaded with OPENBLAS_NUM_THREADS=1 so
 * it starts no threads of its own: with its thread server running, processes that also held a
 * WebGPU device aborted at exit ("double free or corruption") in 1-4 of 25 runs of a test, and in
 * none of 30 without it. The library is opened once, by the main thread, and never closed: the
 * workers call its entry point by address (a worker's own handle would be closed as its thread
 * is torn down during the process's exit).
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
};

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;
const RTLD_NOW = 2;

const SGEMM = {
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
} as const;
const SET_THREADS = { parameters: ["i32"], result: "void" } as const;

/** Where the dynamic loader's own dlopen / dlsym live. */
const LOADER: Record<string, string> = {
  linux: "libc.so.6",
  darwin: "/usr/lib/libSystem.B.dylib",
};
const LOADER_SYMBOLS = {
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  dlerror: { parameters: [], result: "pointer" },
} as const;

/** A BLAS opened once for the process (never closed): its GEMM as a raw address. */
export interface BlasLibrary {
  path: string;
  sgemm: bigint;
}

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

/** The library's GEMM bound to one WebAssembly.Memory (one per thread that calls it). */
export class Blas {
  #sgemm: Deno.UnsafeFnPointer<typeof SGEMM>;
  #buffer: ArrayBufferLike | null = null;
  #base = 0n;

  constructor(library: BlasLibrary, readonly memory: WebAssembly.Memory) {
    const at = Deno.UnsafePointer.create(library.sgemm) as Deno.PointerObject<typeof SGEMM>;
    this.#sgemm = new Deno.UnsafeFnPointer(at, SGEMM);
  }

  #at(offset: number): Deno.PointerValue {
    const buffer = this.memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#base = BigInt(
        Deno.UnsafePointer.value(Deno.UnsafePointer.of(new Uint8Array(buffer))),
      );
    }
    return Deno.UnsafePointer.create(this.#base + BigInt(offset));
  }

  sgemm(g: GemmCall): void {
    this.#sgemm.call(
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
}

const cString = (s: string) => new TextEncoder().encode(`${s}\0`);
let loader: Deno.DynamicLibrary<typeof LOADER_SYMBOLS> | null = null;
const opened = new Map<string, BlasLibrary>();
const SINGLE_THREADED = "OPENBLAS_NUM_THREADS";

/**
 * dlopens `path` (never closed) with OpenBLAS held to one thread, and finds cblas_sgemm; throws
 * with the loader's message. The variable is restored once the library has read it, so child
 * processes (the PyTorch peer of the benchmark) keep their own threading.
 */
function openLibrary(path: string): BlasLibrary {
  const known = opened.get(path);
  if (known) return known;
  loader ??= Deno.dlopen(LOADER[Deno.build.os], LOADER_SYMBOLS);
  const ld = loader.symbols;
  const before = Deno.env.get(SINGLE_THREADED);
  Deno.env.set(SINGLE_THREADED, "1");
  const handle = ld.dlopen(cString(path), RTLD_NOW);
  if (before === undefined) Deno.env.delete(SINGLE_THREADED);
  else Deno.env.set(SINGLE_THREADED, before);
  if (!handle) {
    const why = ld.dlerror();
    throw new Error(
      `cannot load it: ${why ? Deno.UnsafePointerView.getCString(why) : "dlopen failed"}`,
    );
  }
  const sgemm = ld.dlsym(handle, cString("cblas_sgemm"));
  if (!sgemm) throw new Error("it has no cblas_sgemm");
  const setThreads = ld.dlsym(handle, cString("openblas_set_num_threads"));
  if (setThreads) {
    new Deno.UnsafeFnPointer(setThreads as Deno.PointerObject<typeof SET_THREADS>, SET_THREADS)
      .call(1);
  }
  const library = { path, sgemm: BigInt(Deno.UnsafePointer.value(sgemm)) };
  opened.set(path, library);
  return library;
}

/** What `findBlas` settled on: a library (and its path), or null and why not. */
export interface BlasChoice {
  path: string | null;
  library: BlasLibrary | null;
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
  const none = (reason: string) => ({ path: null, library: null, reason });
  if (setting === "off") return none(`${BLAS_ENV}=off`);
  if (typeof Deno.dlopen !== "function") return none("no FFI in this runtime");
  if (!LOADER[Deno.build.os]) {
    return none(`the BLAS path runs on Linux and macOS, not ${Deno.build.os}`);
  }
  // Asked, not requested: a run without --allow-ffi falls back quietly instead of prompting.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return none("no FFI permission (--allow-ffi)");
  }
  if (Deno.permissions.querySync({ name: "env", variable: SINGLE_THREADED }).state !== "granted") {
    return none(`no permission to set ${SINGLE_THREADED} (--allow-env)`);
  }
  const tried: string[] = [];
  for (const path of setting ? [setting] : CANDIDATES[Deno.build.os] ?? []) {
    try {
      const library = openLibrary(path);
      selfTest(new Blas(library, new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })));
      return { path, library, reason: `${path} found` };
    } catch (err) {
      if (setting) throw new Error(`${BLAS_ENV}=${setting}: ${(err as Error).message}`);
      tried.push(`${path} (${(err as Error).message})`);
    }
  }
  return none(
    `no OpenBLAS found (tried ${tried.join(", ")}; Debian: apt install libopenblas0-pthread)`,
  );
}

/** C = A x B' on a 5 x 7 x 3 case at an unaligned offset, compared with a plain loop. */
function selfTest(blas: Blas): void {
  const [m, n, k] = [5, 7, 3];
  const base = 12;
  const f = new Float32Array(blas.memory.buffer, base, m * k + n * k + m * n);
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
