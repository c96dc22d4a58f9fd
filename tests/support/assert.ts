/** Numeric assertions that name the worst element, so a failing kernel says where it is wrong. */

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  label: string,
  { rtol = 1e-4, atol = 1e-5 }: Tolerance = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length}, expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) !== Number.isNaN(e)) {
      throw new Error(`${label}: element ${i} is ${a}, expected ${e}`);
    }
    if (Number.isNaN(a) || a === e) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(excess <= worstExcess)) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(rtol ${rtol}, atol ${atol}, ${actual.length} elements)`,
    );
  }
}

export function assertEqual<T>(actual: T, expected: T, label: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${label}: got ${a}, expected ${e}`);
}

export function assertThrows(fn: () => unknown, pattern: RegExp, label: string): void {
  try {
    fn();
  } catch (err) {
    const message = (err as Error).message;
    if (!pattern.test(message)) {
      throw new Error(`${label}: threw "${message}", expected it to match ${pattern}`);
    }
    return;
  }
  throw new Error(`${label}: did not throw`);
}
