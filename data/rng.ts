/**
 * The project's one seeded pseudo-random generator.
 *
 * xoshiro128** (Blackman and Vigna) on four 32-bit words, seeded through splitmix32 so that
 * nearby integer seeds give unrelated streams. Every random choice in data loading, synthetic
 * data and training (shuffles, augmentation flips, jitter, dropout masks drawn on the CPU) goes
 * through this class so that a run is reproducible from its `--seed` alone, whatever the
 * platform: `Math.random` is never used.
 *
 * @module
 */

/** One splitmix32 step: mixes a 32-bit state into a well-spread 32-bit output. */
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

/**
 * Combines a seed with stream tags (numbers or strings) into one 32-bit seed.
 *
 * Used to give every sample, split and purpose its own independent stream, e.g.
 * `new Rng(hashSeed(seed, "lesion", i))`, so that sample i is the same whatever order samples are
 * generated in and however many of them are asked for.
 */
export function hashSeed(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 24) & 0xff), 0x01000193);
  };
  for (const p of parts) {
    if (typeof p === "number") {
      if (!Number.isFinite(p)) throw new Error(`hashSeed: non-finite seed part ${p}`);
      // Integers up to 2^53 keep their high bits; fractions are rare but allowed.
      mix(p >>> 0);
      mix(Math.floor(p / 4294967296) >>> 0);
      mix(Math.round((p - Math.floor(p)) * 4294967296) >>> 0);
    } else {
      mix(0x5eed);
      for (let i = 0; i < p.length; i++) mix(p.charCodeAt(i));
    }
    mix(0x2c);
  }
  return splitmix32(h)[1];
}

/** Seeded xoshiro128** generator with uniform, integer, normal and shuffle helpers. */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spareNormal: number | null = null;

  /** @param seed any integer (or result of {@link hashSeed}); the same seed gives the same stream. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    let st = hashSeed(seed);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(st);
      st = next;
      words.push(out | 0);
    }
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    [this.#s0, this.#s1, this.#s2, this.#s3] = words;
  }

  /** Next raw unsigned 32-bit integer. */
  nextUint32(): number {
    const s0 = this.#s0, s1 = this.#s1, s2 = this.#s2, s3 = this.#s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.#s1 = s1 ^ n2;
    this.#s0 = s0 ^ n3;
    this.#s2 = n2 ^ t;
    this.#s3 = rotl(n3, 11);
    return r >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new Error(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal sample (Box–Muller, the second value of each pair is kept for the next call). */
  normal(mean = 0, std = 1): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return mean + std * z;
    }
    let u = this.float();
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Picks one element uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick: empty list");
    return items[this.int(items.length)];
  }

  /** Fisher–Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = arr[i];
      arr[i] = arr[j];
      arr[j] = tmp;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** A new generator seeded from this one's stream (for handing a sub-task its own stream). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
