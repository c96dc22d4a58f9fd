/**
 * Counter-based random numbers (PCG hash of index and seed). Both backends compute the same
 * function, so a dropout mask or TABE's uniform targets agree exactly between CPU and WebGPU
 * and a run is reproducible from its seed alone. The WGSL twin is in shaders/random.wgsl.
 */

export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> (((state >>> 28) + 4) >>> 0)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** Uniform in [0, 1) with 24 bits, for element `index` of the stream `seed`. */
export function uniformAt(index: number, seed: number): number {
  return (pcgHash((index ^ pcgHash(seed)) >>> 0) >>> 8) / 16777216;
}

/** Standard normal by Box-Muller over two uniform draws of the stream. */
export function normalAt(index: number, seed: number): number {
  const key = pcgHash(seed);
  const u1 = ((pcgHash(((2 * index) ^ key) >>> 0) >>> 8) + 1) / 16777217;
  const u2 = (pcgHash(((2 * index + 1) ^ key) >>> 0) >>> 8) / 16777216;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
