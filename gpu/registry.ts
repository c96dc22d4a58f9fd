/**
 * The kernel registry: every op the backends run, one entry each (gpu/kernel.ts), gathered from
 * the family tables in gpu/ops/. The `Backend` type's kernel methods are derived from it, and the
 * backends wire themselves from it (gpu/kernel-methods.ts), so an op exists in exactly one place.
 * How to add one: gpu/README.md.
 */

import type { KernelTable } from "./kernel.ts";
import { batchNormOps } from "./ops/batchnorm.ts";
import { elementwiseOps } from "./ops/elementwise.ts";
import { gemmOps } from "./ops/gemm.ts";
import { layoutOps } from "./ops/layout.ts";
import { lossOps } from "./ops/loss.ts";
import { optimOps } from "./ops/optim.ts";
import { poolOps } from "./ops/pool.ts";

export const REGISTRY = {
  ...elementwiseOps,
  ...layoutOps,
  ...gemmOps,
  ...batchNormOps,
  ...poolOps,
  ...lossOps,
  ...optimOps,
} satisfies KernelTable;

export type Registry = typeof REGISTRY;
export type OpName = keyof Registry;

/** The signature an entry declares. */
export type SignatureOf<K extends OpName> = NonNullable<Registry[K]["signature"]>;

/** One method per registered op, typed by its entry's signature. */
export type Kernels = { readonly [K in OpName]: SignatureOf<K> };

/** Every registered op's name, in registry order. */
export const OP_NAMES: readonly OpName[] = Object.keys(REGISTRY) as OpName[];
