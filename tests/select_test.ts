import { CPU_THREADS_ENV, cpuThreadsFromEnv, selectBackend } from "../gpu/select.ts";
import { assertEqual, assertThrows } from "./support/assert.ts";

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const old = Deno.env.get(CPU_THREADS_ENV);
  if (value === undefined) Deno.env.delete(CPU_THREADS_ENV);
  else Deno.env.set(CPU_THREADS_ENV, value);
  try {
    return fn();
  } finally {
    if (old === undefined) Deno.env.delete(CPU_THREADS_ENV);
    else Deno.env.set(CPU_THREADS_ENV, old);
  }
}

Deno.test("SDU_CPU_THREADS caps the WASM backend's threads; bad values name the variable", async () => {
  assertEqual(withEnv(undefined, cpuThreadsFromEnv), undefined, "unset: one per core");
  assertEqual(withEnv(" ", cpuThreadsFromEnv), undefined, "blank: one per core");
  assertEqual(withEnv("3", cpuThreadsFromEnv), 3, "a whole number");
  for (const bad of ["0", "-2", "1.5", "two"]) {
    assertThrows(
      () => withEnv(bad, cpuThreadsFromEnv),
      new RegExp(`SDU_CPU_THREADS=${bad.replace(".", "\\.")}: expected a positive whole number`),
      `refuses ${bad}`,
    );
  }
  const { backend } = await withEnv("1", () => selectBackend("cpu"));
  const oneThread = /^cpu \(WebAssembly SIMD kernels( \+ BLAS GEMM \(.+\))?, 1 thread\)$/;
  assertEqual(oneThread.test(backend.description), true, `one thread: ${backend.description}`);
});
