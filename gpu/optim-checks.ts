/**
 * The optimisers' argument check, in one home for every backend (as window-params.ts is for
 * windows), so the error wording cannot drift apart.
 */

/** Every state storage (gradient, momentum, moments) must match the parameter's length. */
export function checkStateLengths(
  op: string,
  param: { length: number },
  ...others: { length: number }[]
): void {
  for (const o of others) {
    if (o.length !== param.length) {
      throw new Error(`${op}: state of ${o.length} elements for a parameter of ${param.length}`);
    }
  }
}
