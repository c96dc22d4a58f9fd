/**
 * The shader-f16 self-test. f16 GEMMs (gpu/types.ts GemmPrecision) may hold their staged tiles
 * in f16 workgroup memory, half the bytes per tile, but WGSL leaves an adapter free in how it
 * converts infinities and subnormals to f16. The loss scaler depends on both arriving intact,
 * so the feature is used only after a matmul through half tiles reproduced the host's rounding
 * of special values bit for bit.
 */

import { roundToHalf } from "../half-operands.ts";
import type { MatmulParams } from "../types.ts";
import { matmulWith, TILES } from "./matmul.ts";
import type { GpuRuntime } from "./runtime.ts";

const SIDE = 8;

/**
 * Finite values whose rounding is a corner of the format (largest, ties, subnormals). No -0 and
 * nothing that rounds to it: a product's sum starts at +0, so the sign of zero does not survive.
 */
const SPECIAL = [
  65504,
  65519,
  -65519.5,
  1 + 2 ** -11,
  1 + 3 * 2 ** -11,
  2 ** -14,
  2 ** -24,
  3 * 2 ** -25,
  2 ** -26,
  -(2 ** -24) * 5.5,
  2 ** -10,
  1 / 3,
  Math.PI,
  -1e-3,
  6e-5,
  1234.567,
];

function params(m: number, n: number, k: number): MatmulParams {
  const base = { batch: 1, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
  return { ...base, m, n, k, precision: "f16" };
}

/** Why half tiles fail on this runtime, or null when they reproduce the host's rounding. */
async function halfTileMismatch(rt: GpuRuntime): Promise<string | null> {
  const a = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < a.length; i++) a[i] = SPECIAL[i % SPECIAL.length] * 2 ** -(i >> 4);
  const identity = new Float32Array(SIDE * SIDE);
  for (let i = 0; i < SIDE; i++) identity[i * SIDE + i] = 1;
  const inputs = [a, identity, new Float32Array([1e5]), new Float32Array([-1])].map((d) =>
    rt.upload(d)
  );
  const outputs = [
    matmulWith(rt, inputs[0], inputs[1], params(SIDE, SIDE, SIDE), TILES.hardware),
    matmulWith(rt, inputs[2], inputs[3], params(1, 1, 1), TILES.hardware),
  ];
  try {
    const [product, overflow] = await rt.readMany(outputs);
    await rt.checkErrors();
    const expected = a.slice();
    roundToHalf(expected);
    const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
    for (let i = 0; i < expected.length; i++) {
      if (bits(product[i]) !== bits(expected[i])) {
        return `${a[i]} came back as ${product[i]}, not ${expected[i]}`;
      }
    }
    if (overflow[0] !== -Infinity) return `1e5 x -1 came back as ${overflow[0]}, not -Infinity`;
    return null;
  } finally {
    for (const s of [...inputs, ...outputs]) rt.release(s);
  }
}

/**
 * Turns half tiles on where the device has shader-f16 and they pass the self-test; says why
 * not otherwise (null when they are on). Idempotent and cheap after the first call.
 */
export async function enableHalfTiles(rt: GpuRuntime): Promise<string | null> {
  if (rt.halfShared) return null;
  if (!rt.device.features.has("shader-f16")) return "the adapter does not offer shader-f16";
  rt.halfShared = true;
  let reason: string | null;
  try {
    reason = await halfTileMismatch(rt);
  } catch (err) {
    reason = (err as Error).message;
  }
  rt.halfShared = reason === null;
  return reason;
}
