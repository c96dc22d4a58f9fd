/**
 * Builds gpu/wasm/kernels.wasm from the AssemblyScript sources in gpu/wasm/kernels/ with SIMD,
 * relaxed SIMD (fused multiply-add) and threads (atomics, shared imported memory), -O3.
 * The .wasm is checked in, so users never need the compiler; rerun this after editing a kernel:
 *
 *   deno run -A tools/build-wasm.ts
 *
 * The compiler runs as a subprocess with --no-config --no-lock, so the project's deno.json
 * and lockfile stay untouched by the pinned npm:assemblyscript build dependency.
 */

import { readdirSync, renameSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ASC = "npm:assemblyscript@0.28.20/asc";
const root = fileURLToPath(new URL("../", import.meta.url));
const kernelDir = `${root}gpu/wasm/kernels`;
const output = `${root}gpu/wasm/kernels.wasm`;

/**
 * Everything in the memory is ours: no runtime, no asserts, aborts compiled away. The imported
 * memory is declared with a minimum of 0 pages: V8's explicit bounds checks (Deno enables no
 * trap handler) then made the GEMM micro-kernel 11% faster than with a 1-page minimum, so the
 * kernels must not carry data segments (checked below).
 */
const FLAGS = [
  "-O3",
  "--enable",
  "simd,relaxed-simd,threads",
  "--importMemory",
  "--sharedMemory",
  "--initialMemory",
  "0",
  "--maximumMemory",
  "65536",
  "--runtime",
  "stub",
  "--noAssert",
  "--use",
  "abort=",
];

/** Ids of the sections of a wasm binary, in order. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0;; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    ids.push(id);
    at += size;
  }
  return ids;
}

async function build(): Promise<void> {
  const sources = readdirSync(kernelDir).filter((f) => f.endsWith(".ts")).sort()
    .map((f) => `${kernelDir}/${f}`);
  if (sources.length === 0) throw new Error(`no AssemblyScript sources in ${kernelDir}`);
  const partial = `${output}.partial`;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-lock", "-A", ASC, ...sources, "-o", partial, ...FLAGS],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) throw new Error(`asc failed with exit code ${code}`);
  const data = sectionIds(Deno.readFileSync(partial)).filter((id) => id === 11 || id === 12);
  if (data.length) {
    throw new Error(
      "kernels.wasm has a data segment (static data such as AssemblyScript's Math tables); " +
        "it would raise the imported memory's minimum and slow every bounds-checked load",
    );
  }
  renameSync(partial, output);
  console.log(`wrote ${output} (${statSync(output).size} bytes) from ${sources.length} sources`);
}

if (import.meta.main) await build();
