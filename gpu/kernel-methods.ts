/**
 * Wires a backend from the registry: one method per registered op, made by the backend's `bind`
 * from the op's entry (its own implementation, or the reference where it has none). Backends
 * extend `KernelMethods` so the compiler knows the methods their constructors install; the
 * per-op types were checked where each entry was declared (gpu/kernel.ts).
 */

import type { AnyKernel } from "./kernel.ts";
import { type Kernels, OP_NAMES, type OpName, REGISTRY } from "./registry.ts";
import { Storage } from "./types.ts";

/** An op method as the wiring sees it: arguments forwarded, storages narrowed by the backend. */
export type Forward = (...args: unknown[]) => unknown;

/** The base class of every backend: its instances carry one method per registered op. */
export const KernelMethods = class {} as new () => Kernels;

/** Installs `bind(name, entry)` as the method `name` of `target`, for every registered op. */
export function installKernels(
  target: Kernels,
  bind: (name: OpName, entry: AnyKernel) => Forward,
): void {
  for (const name of OP_NAMES) {
    Object.defineProperty(target, name, { value: bind(name, REGISTRY[name]), configurable: true });
  }
}

/** An op's result with every storage in it (itself, or the fields of a record) mapped by `fn`. */
export function mapResult(result: unknown, fn: (s: Storage) => Storage): unknown {
  if (result instanceof Storage) return fn(result);
  if (result === null || typeof result !== "object") return result;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    out[key] = value instanceof Storage ? fn(value) : value;
  }
  return out;
}

/**
 * Replaces, in place, every storage among an op's arguments (a fresh rest array) by `own(s)`:
 * the backend's check that it owns it, narrowed to its storage class. `lead` goes first (the
 * runtime an implementation takes), so the array is ready to apply without another copy.
 */
export function narrow(args: unknown[], own: (s: Storage) => Storage, lead?: unknown): unknown[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a instanceof Storage) args[i] = own(a);
  }
  if (lead !== undefined) args.unshift(lead);
  return args;
}

/** The storages among an op's arguments, in order. */
export function storageArgs(args: readonly unknown[]): Storage[] {
  return args.filter((a): a is Storage => a instanceof Storage);
}
