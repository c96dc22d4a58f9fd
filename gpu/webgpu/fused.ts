/**
 * WebGPU side of a fused element-wise chain (gpu/fused-elementwise.ts): elementwise.wgsl's `fused`
 * kernel, its body written from the program, one `let` per step, each op a function holding its
 * row's WGSL expression. Scalars travel as uniforms, so programs that differ only in scalars
 * share one pipeline.
 */

import { BINARY_OPS, UNARY_OPS } from "../elementwise-ops.ts";
import {
  checkFusedInputs,
  type FusedProgram,
  programKey,
  stepScalar,
} from "../fused-elementwise.ts";
import { GpuRuntime, type GpuStorage } from "./runtime.ts";

const WG = [256, 1, 1] as const;

/** The `fused` kernel's defines for one program's structure, cached by its key. */
const definesByKey = new Map<string, Record<string, string>>();

function fusedDefines(program: FusedProgram): Record<string, string> {
  const key = programKey(program);
  const cached = definesByKey.get(key);
  if (cached) return cached;
  const fields: string[] = [];
  const functions = new Map<string, string>();
  const body = program.steps.map((s, j) => {
    const scalar = stepScalar(s);
    const uniform = `P.c${j}`;
    if (scalar !== null) fields.push(`c${j}: f32`);
    if ("input" in s) return `let v${j} = X${s.input}[i];`;
    if ("constant" in s) return `let v${j} = ${uniform};`;
    if ("unary" in s) {
      functions.set(
        `u_${s.unary}`,
        `fn u_${s.unary}(x: f32, p: f32) -> f32 { return ${UNARY_OPS[s.unary].wgsl}; }`,
      );
      return `let v${j} = u_${s.unary}(v${s.of}, ${uniform});`;
    }
    functions.set(
      `b_${s.binary}`,
      `fn b_${s.binary}(a: f32, b: f32) -> f32 { return ${BINARY_OPS[s.binary].wgsl}; }`,
    );
    return `let v${j} = b_${s.binary}(v${s.a}, v${s.b});`;
  });
  body.push(`Y[i] = v${program.steps.length - 1};`);
  const bindings = Array.from(
    { length: program.inputs },
    (_, k) => `@group(0) @binding(${k + 1}) var<storage, read> X${k}: array<f32>;`,
  );
  bindings.push(
    `@group(0) @binding(${program.inputs + 1}) var<storage, read_write> Y: array<f32>;`,
  );
  const defines = {
    FIELDS: fields.map((f) => `, ${f}`).join(""),
    FUNCTIONS: [...functions.values()].join("\n"),
    BINDINGS: bindings.join("\n"),
    BODY: body.join("\n  "),
  };
  definesByKey.set(key, defines);
  return defines;
}

export function fused(
  rt: GpuRuntime,
  program: FusedProgram,
  inputs: readonly GpuStorage[],
): GpuStorage {
  checkFusedInputs(program, inputs);
  const n = inputs[0].length;
  const y = rt.alloc(n, "f32");
  const scalars = program.steps.map(stepScalar).filter((v): v is number => v !== null);
  rt.run({
    family: "elementwise",
    entry: "fused",
    defines: fusedDefines(program),
    workgroupSize: WG,
    dispatch: GpuRuntime.grid(Math.ceil(n / WG[0])),
    params: [{ u32: n }, ...scalars.map((f32) => ({ f32 }))],
    inputs,
    outputs: [y],
  });
  return y;
}
