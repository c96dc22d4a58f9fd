/** CPU twin of gpu/shaders/random.wgsl. */

import type { HostStorage, RandomKind } from "../types.ts";
import { normalAt, uniformAt } from "../random-hash.ts";
import { wrap } from "./storage.ts";

export function random(length: number, kind: RandomKind, p: number, seed: number): HostStorage {
  const out = new Float32Array(length);
  const pf = Math.fround(p);
  for (let i = 0; i < length; i++) {
    if (kind === "normal") out[i] = normalAt(i, seed);
    else {
      const u = uniformAt(i, seed);
      out[i] = kind === "uniform" ? u : (u < pf ? 1 : 0);
    }
  }
  return wrap(out);
}
