/**
 * The optimisers' argument check, in one home for every backend (as window-params.ts is for
 * windows), so the error wording cannot drift apart.
 */

interface Sized {
  readonly length: number;
  readonly dtype: string;
}

/**
 * A group update's arguments: one f32 gradient per f32 parameter, of its parameter's length, and
 * state buffers that hold the group's span from `base`.
 */
export function checkGroup(
  op: string,
  params: readonly Sized[],
  grads: readonly Sized[],
  base: number,
  states: readonly Sized[],
): void {
  if (params.length === 0) throw new Error(`${op}: no parameters`);
  if (grads.length !== params.length) {
    throw new Error(`${op}: ${grads.length} gradients for ${params.length} parameters`);
  }
  let total = 0;
  params.forEach((p, k) => {
    const g = grads[k];
    for (const [what, s] of [["parameter", p], ["gradient", g]] as const) {
      if (s.dtype !== "f32") throw new Error(`${op}: ${what} ${k} is ${s.dtype}, not f32`);
    }
    if (g.length !== p.length) {
      throw new Error(
        `${op}: gradient ${k} of ${g.length} elements for a parameter of ${p.length}`,
      );
    }
    total += p.length;
  });
  if (!Number.isInteger(base) || base < 0) throw new Error(`${op}: invalid state offset ${base}`);
  for (const s of states) {
    if (s.dtype !== "f32") throw new Error(`${op}: state is ${s.dtype}, not f32`);
    if (s.length < base + total) {
      throw new Error(
        `${op}: state of ${s.length} elements cannot hold ${total} from offset ${base}`,
      );
    }
  }
}
