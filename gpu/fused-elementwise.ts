/**
 * Chains of element-wise ops run as one kernel. A program is a list of steps over inputs of one
 * length, each step a row of gpu/elementwise-ops.ts applied to earlier steps; the last step is
 * the result. Every backend evaluates it as the chain of those rows would, rounding to f32 after
 * each step, so a fused chain gives the unfused chain's numbers while WebGPU reads its inputs and
 * writes its result once instead of once per step (gpu/webgpu/fused.ts). Programs are built with
 * `buildProgram`, whose `FusedValue`s read like tensor arithmetic.
 */

import type { BinaryOp, Storage, UnaryOp } from "./types.ts";
import { BINARY_OPS, UNARY_OPS } from "./elementwise-ops.ts";

/** One step of a program; `of`, `a` and `b` index earlier steps. */
export type FusedStep =
  | { readonly input: number }
  | { readonly constant: number }
  | { readonly unary: UnaryOp; readonly of: number; readonly p: number }
  | { readonly binary: BinaryOp; readonly a: number; readonly b: number };

/** Steps over `inputs` storages of one length; the result is the last step. */
export interface FusedProgram {
  readonly inputs: number;
  readonly steps: readonly FusedStep[];
}

/** Inputs one program may read: WebGPU's default 8 storage bindings, one kept for the result. */
export const MAX_FUSED_INPUTS = 7;
/** Steps one program may hold; each scalar is a uniform, and a kernel's uniforms are 256 bytes. */
export const MAX_FUSED_STEPS = 48;

/** A value inside a program under construction: tensor-like arithmetic that appends steps. */
export class FusedValue {
  constructor(readonly steps: FusedStep[], readonly index: number) {}

  #push(step: FusedStep): FusedValue {
    this.steps.push(step);
    return new FusedValue(this.steps, this.steps.length - 1);
  }

  #operand(other: FusedValue | number): FusedValue {
    if (typeof other === "number") return this.#push({ constant: other });
    if (other.steps !== this.steps) throw new Error("fused: a value from another program");
    return other;
  }

  /** A constant of this program, for ops whose constant comes first (`c >= x`). */
  constant(value: number): FusedValue {
    return this.#push({ constant: value });
  }

  unary(op: UnaryOp, p = 0): FusedValue {
    return this.#push({ unary: op, of: this.index, p });
  }

  binary(op: BinaryOp, other: FusedValue | number): FusedValue {
    const b = this.#operand(other);
    return this.#push({ binary: op, a: this.index, b: b.index });
  }

  /** A number adds as addScalar, as the tensor-level add does; likewise sub, mul and div. */
  add(other: FusedValue | number): FusedValue {
    return typeof other === "number" ? this.unary("addScalar", other) : this.binary("add", other);
  }
  sub(other: FusedValue | number): FusedValue {
    return typeof other === "number" ? this.unary("addScalar", -other) : this.binary("sub", other);
  }
  mul(other: FusedValue | number): FusedValue {
    return typeof other === "number" ? this.unary("scale", other) : this.binary("mul", other);
  }
  div(other: FusedValue | number): FusedValue {
    return typeof other === "number" ? this.unary("scale", 1 / other) : this.binary("div", other);
  }
  neg(): FusedValue {
    return this.unary("neg");
  }
}

/** Builds a program of `inputs` inputs from `build`, which combines them into the result. */
export function buildProgram(
  inputs: number,
  build: (...values: FusedValue[]) => FusedValue,
): FusedProgram {
  const steps: FusedStep[] = [];
  const values = Array.from({ length: inputs }, (_, k) => {
    steps.push({ input: k });
    return new FusedValue(steps, k);
  });
  const result = build(...values);
  if (result.steps !== steps) throw new Error("fused: the result is not of this program");
  if (result.index !== steps.length - 1) steps.push({ unary: "scale", of: result.index, p: 1 });
  const program = { inputs, steps };
  checkProgram(program);
  return program;
}

/** Refuses a program no backend can run, naming the step. */
export function checkProgram(program: FusedProgram): void {
  const { inputs, steps } = program;
  if (!Number.isInteger(inputs) || inputs < 1 || inputs > MAX_FUSED_INPUTS) {
    throw new Error(`fused: ${inputs} inputs (1 to ${MAX_FUSED_INPUTS})`);
  }
  if (steps.length < 1 || steps.length > MAX_FUSED_STEPS) {
    throw new Error(`fused: ${steps.length} steps (1 to ${MAX_FUSED_STEPS})`);
  }
  const earlier = (j: number, k: number) => Number.isInteger(k) && k >= 0 && k < j;
  steps.forEach((s, j) => {
    const bad = (why: string) => new Error(`fused: step ${j} ${JSON.stringify(s)}: ${why}`);
    if ("input" in s) {
      if (!Number.isInteger(s.input) || s.input < 0 || s.input >= inputs) {
        throw bad(`no input ${s.input} of ${inputs}`);
      }
    } else if ("constant" in s) {
      if (typeof s.constant !== "number") throw bad("the constant is not a number");
    } else if ("unary" in s) {
      if (!(s.unary in UNARY_OPS)) throw bad(`no unary op ${s.unary}`);
      if (!earlier(j, s.of)) throw bad("reads no earlier step");
    } else if ("binary" in s) {
      if (!(s.binary in BINARY_OPS)) throw bad(`no binary op ${s.binary}`);
      if (!earlier(j, s.a) || !earlier(j, s.b)) throw bad("reads no earlier step");
    } else {
      throw bad("is neither input, constant, unary nor binary");
    }
  });
}

/** A program's inputs: as many as it reads, f32, of one length. */
export function checkFusedInputs(program: FusedProgram, inputs: readonly Storage[]): void {
  checkProgram(program);
  if (inputs.length !== program.inputs) {
    throw new Error(`fused: the program reads ${program.inputs} inputs, got ${inputs.length}`);
  }
  inputs.forEach((s, k) => {
    if (s.dtype !== "f32") throw new Error(`fused: input ${k} is ${s.dtype}, not f32`);
    if (s.length !== inputs[0].length) {
      throw new Error(`fused: input ${k} holds ${s.length} values, input 0 ${inputs[0].length}`);
    }
  });
}

/** The program's shape without its scalars: programs that differ only in scalars share a kernel. */
export function programKey(program: FusedProgram): string {
  return program.steps.map((s) => {
    if ("input" in s) return `i${s.input}`;
    if ("constant" in s) return "c";
    if ("unary" in s) return `${s.unary}(${s.of})`;
    return `${s.binary}(${s.a},${s.b})`;
  }).join(" ");
}

/** The scalar each step carries (a unary's p, a constant's value), or null. */
export function stepScalar(step: FusedStep): number | null {
  if ("constant" in step) return step.constant;
  if ("unary" in step) return step.p;
  return null;
}

/**
 * SiLU's gradient, g * s * (1 + x * (1 - s)) with s = sigmoid(x): one builder for the autodiff
 * rule and the batch-norm + SiLU kernels' twins, so every backend sums in the same order as
 * gpu/shaders/prelude.wgsl's siluGrad.
 */
export function siluGrad(g: FusedValue, x: FusedValue): FusedValue {
  const s = x.unary("sigmoid");
  return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)));
}

/** siluGrad as a program of (g, x). */
export const SILU_GRAD: FusedProgram = buildProgram(2, siluGrad);
