/**
 * Writes the unrolled statements of gpu/shaders/matmul.wgsl for one tile shape and one variant.
 * WGSL has no unrolling and Mesa's lavapipe keeps a register tile in registers only when every
 * index is a constant, so the TM x TN x 4 block is spelled out here, once per pipeline.
 */

/** Workgroup and register-tile shape of one matmul pipeline. */
export interface TileConfig {
  /** Invocations along N and along M. */
  wgx: number;
  wgy: number;
  /** Register tile per invocation: rows and columns (both multiples of 4). */
  tm: number;
  tn: number;
  /** Which operand tiles are staged through workgroup memory. */
  stageA: boolean;
  stageB: boolean;
  /** K depth of one staged tile (multiple of 4; 4 when nothing is staged). */
  kb: number;
  /**
   * Load the next staged tile into registers while the current one is multiplied, so its
   * memory latency hides behind the arithmetic (needs a staged operand; absent means no).
   */
  prefetch?: boolean;
}

/** What the shapes of one call allow: which operands load 4 floats at a time, and transposes. */
export interface Variant {
  transA: boolean;
  transB: boolean;
  /** The contiguous dimension of A (K, or M when transposed) is a multiple of 4. */
  aVec: boolean;
  /** The contiguous dimension of B (N, or K when transposed) is a multiple of 4. */
  bVec: boolean;
  /** N is a multiple of 4, so rows of C store as vec4. */
  cVec: boolean;
  /** K is not a multiple of 4: the last block of 4 must mask its extra k. */
  kTail: boolean;
  /** f16 operand precision: operands round to half as they load, the result as it stores. */
  half: boolean;
  /** With `half`, staged tiles are held as f16 (needs shader-f16; gpu/webgpu/half-tiles.ts). */
  halfShared: boolean;
}

const COMP = ["x", "y", "z", "w"];

/** Checks a tile shape so a bad config fails with its name, not a WGSL error. */
export function checkConfig(c: TileConfig): void {
  const ok = c.tm % 4 === 0 && c.tn % 4 === 0 && c.kb % 4 === 0 && c.wgx > 0 && c.wgy > 0 &&
    (c.stageA || c.stageB || c.kb === 4) && (!c.prefetch || c.stageA || c.stageB);
  if (!ok) throw new Error(`matmul tile config ${JSON.stringify(c)} is not valid`);
}

/** The `{{KEY}}` values of matmul.wgsl's `tiled` kernel. */
export function matmulDefines(c: TileConfig, v: Variant): Record<string, string | number> {
  checkConfig(c);
  const g = new Generator(c, v);
  return {
    A_TYPE: v.aVec ? "vec4f" : "f32",
    B_TYPE: v.bVec ? "vec4f" : "f32",
    C_TYPE: v.cVec ? "vec4f" : "f32",
    SHARED: g.shared(),
    BM: c.wgy * c.tm,
    BN4: c.wgx * c.tn / 4,
    TM: c.tm,
    KB: c.kb,
    ACC: g.accumulators(),
    PRELOAD: g.preload(),
    STAGE: g.stage(),
    BLOCK: g.block(),
    SYNC: c.stageA || c.stageB ? "workgroupBarrier();" : "",
    STORE: g.store(),
    ENABLES: v.half && v.halfShared ? "enable f16;" : "",
  };
}

class Generator {
  readonly bm: number;
  readonly bn: number;
  readonly kb4: number;
  readonly wg: number;

  constructor(readonly c: TileConfig, readonly v: Variant) {
    this.bm = c.wgy * c.tm;
    this.bn = c.wgx * c.tn;
    this.kb4 = c.kb / 4;
    this.wg = c.wgx * c.wgy;
  }

  shared(): string {
    const type = this.#halfShared ? "vec4<f16>" : "vec4f";
    const out: string[] = [];
    if (this.c.stageA) out.push(`var<workgroup> As: array<${type}, ${this.bm * this.kb4}>;`);
    if (this.c.stageB) out.push(`var<workgroup> Bs: array<${type}, ${this.bn * this.kb4}>;`);
    return out.join("\n");
  }

  get #halfShared(): boolean {
    return this.v.half && this.v.halfShared;
  }

  /** A staged quad as it is written to workgroup memory. */
  #toShared(quad: string): string {
    if (!this.v.half) return quad;
    return this.#halfShared ? `vec4<f16>(roundHalf4(${quad}))` : `roundHalf4(${quad})`;
  }

  /** A workgroup-memory read as the f32 the multiply-adds take. */
  #fromShared(read: string): string {
    return this.#halfShared ? `vec4f(${read})` : read;
  }

  /** A value loaded straight from storage, rounded to half when asked. */
  #direct(load: string, vec: boolean): string {
    if (!this.v.half) return load;
    return vec ? `roundHalf4(${load})` : `roundHalf(${load})`;
  }

  accumulators(): string {
    const out: string[] = [];
    for (let r = 0; r < this.c.tm; r++) {
      for (let j = 0; j < this.c.tn / 4; j++) out.push(`var acc${r}_${j} = vec4f(0.0);`);
    }
    return out.join("\n  ");
  }

  // --- staging: whole tiles, zero outside the matrices, so the block needs no checks ---

  /** Four floats of A along k at (row, k..k+3), or along m at (row..row+3, k) if transposed. */
  #fetchA(row: string, k: string): string {
    const { aVec, transA } = this.v;
    if (!transA) {
      if (aVec) {
        return `select(vec4f(0.0), A[(aBase + min(${row}, M - 1u) * K + min(${k}, K - 4u)) / 4u], ` +
          `${row} < M && ${k} < K)`;
      }
      return `vec4f(${
        [0, 1, 2, 3].map((i) =>
          `select(0.0, A[aBase + min(${row}, M - 1u) * K + min(${k} + ${i}u, K - 1u)], ` +
          `${row} < M && ${k} + ${i}u < K)`
        ).join(", ")
      })`;
    }
    if (aVec) {
      return `select(vec4f(0.0), A[(aBase + min(${k}, K - 1u) * M + min(${row}, M - 4u)) / 4u], ` +
        `${row} < M && ${k} < K)`;
    }
    return `vec4f(${
      [0, 1, 2, 3].map((i) =>
        `select(0.0, A[aBase + min(${k}, K - 1u) * M + min(${row} + ${i}u, M - 1u)], ` +
        `${row} + ${i}u < M && ${k} < K)`
      ).join(", ")
    })`;
  }

  /** Four floats of B along n at (k, col..col+3), or along k at (k..k+3, col) if transposed. */
  #fetchB(k: string, col: string): string {
    const { bVec, transB } = this.v;
    if (!transB) {
      if (bVec) {
        return `select(vec4f(0.0), B[(bBase + min(${k}, K - 1u) * N + min(${col}, N - 4u)) / 4u], ` +
          `${col} < N && ${k} < K)`;
      }
      return `vec4f(${
        [0, 1, 2, 3].map((i) =>
          `select(0.0, B[bBase + min(${k}, K - 1u) * N + min(${col} + ${i}u, N - 1u)], ` +
          `${col} + ${i}u < N && ${k} < K)`
        ).join(", ")
      })`;
    }
    if (bVec) {
      return `select(vec4f(0.0), B[(bBase + min(${col}, N - 1u) * K + min(${k}, K - 4u)) / 4u], ` +
        `${col} < N && ${k} < K)`;
    }
    return `vec4f(${
      [0, 1, 2, 3].map((i) =>
        `select(0.0, B[bBase + min(${col}, N - 1u) * K + min(${k} + ${i}u, K - 1u)], ` +
        `${col} < N && ${k} + ${i}u < K)`
      ).join(", ")
    })`;
  }

  /** What each staged operand copies per tile: its array, size in quads, and one quad's value. */
  #staged(): { array: string; items: number; quad: (e: string, k0: string) => string }[] {
    const { c, v, bm, bn, kb4 } = this;
    const out = [];
    if (c.stageA) {
      // !transA: As[rowLocal * KB4 + kq] holds k..k+3; transA: As[kLocal * BM4 + g] holds 4 rows.
      out.push({
        array: "As",
        items: bm * kb4,
        quad: (e: string, k0: string) =>
          this.#toShared(
            v.transA
              ? this.#fetchA(`(tileRow + (${e} % ${bm / 4}u) * 4u)`, `(${k0} + ${e} / ${bm / 4}u)`)
              : this.#fetchA(`(tileRow + ${e} / ${kb4}u)`, `(${k0} + (${e} % ${kb4}u) * 4u)`),
          ),
      });
    }
    if (c.stageB) {
      // !transB: Bs[kLocal * BN4 + g] holds 4 columns; transB: Bs[colLocal * KB4 + kq] holds k..k+3.
      out.push({
        array: "Bs",
        items: bn * kb4,
        quad: (e: string, k0: string) =>
          this.#toShared(
            v.transB
              ? this.#fetchB(`(${k0} + (${e} % ${kb4}u) * 4u)`, `(tileGroup * 4u + ${e} / ${kb4}u)`)
              : this.#fetchB(
                `(${k0} + ${e} / ${bn / 4}u)`,
                `((tileGroup + ${e} % ${bn / 4}u) * 4u)`,
              ),
          ),
      });
    }
    return out;
  }

  /**
   * With prefetch, each invocation owns the same quads of every tile: quad `slot` of an operand
   * is element li + slot * WG, held in register p<array><slot> between a load and its store.
   */
  #slots(items: number): { slot: number; e: string; guarded: boolean }[] {
    return Array.from({ length: Math.ceil(items / this.wg) }, (_, slot) => ({
      slot,
      e: slot === 0 ? "li" : `(li + ${slot * this.wg}u)`,
      guarded: (slot + 1) * this.wg > items,
    }));
  }

  /** Register loads of the tile at k0 = `k0` into the prefetch registers. */
  #prefetchLoads(k0: string): string[] {
    const out: string[] = [];
    for (const op of this.#staged()) {
      for (const { slot, e, guarded } of this.#slots(op.items)) {
        const load = `p${op.array}${slot} = ${op.quad(e, k0)};`;
        out.push(guarded ? `if (${e} < ${op.items}u) { ${load} }` : load);
      }
    }
    return out;
  }

  /** Before the k loop: the prefetch registers, holding the first tile. */
  preload(): string {
    if (!this.c.prefetch) return "";
    const type = this.#halfShared ? "vec4<f16>" : "vec4f";
    const out: string[] = [];
    for (const op of this.#staged()) {
      for (const { slot } of this.#slots(op.items)) out.push(`var p${op.array}${slot}: ${type};`);
    }
    return [...out, ...this.#prefetchLoads("0u")].join("\n  ");
  }

  stage(): string {
    const { c, wg } = this;
    const staged = this.#staged();
    if (!staged.length) return "";
    if (c.prefetch) {
      // Store the registers, then load the next tile before this one's multiply-adds read it.
      const out: string[] = [];
      for (const op of staged) {
        for (const { slot, e, guarded } of this.#slots(op.items)) {
          const store = `${op.array}[${e}] = p${op.array}${slot};`;
          out.push(guarded ? `if (${e} < ${op.items}u) { ${store} }` : store);
        }
      }
      out.push("workgroupBarrier();");
      out.push(
        `if (k0 + ${c.kb}u < K) {`,
        `  let kn = k0 + ${c.kb}u;`,
        ...this.#prefetchLoads("kn").map((l) => `  ${l}`),
        "}",
      );
      return out.join("\n    ");
    }
    const out = staged.map((op) =>
      `for (var e = li; e < ${op.items}u; e += ${wg}u) { ${op.array}[e] = ${op.quad("e", "k0")}; }`
    );
    out.push("workgroupBarrier();");
    return out.join("\n    ");
  }

  // --- the unrolled block: loads of one k-block of 4, then TM x TN x 4 multiply-adds ---

  /** k index of the block's kk-th step, clamped into range only where it can overrun. */
  #k(kk: number): string {
    return this.v.kTail ? `min(kb0 + ${kk}u, K - 1u)` : `(kb0 + ${kk}u)`;
  }

  #mask(value: string, kk: number, vec: boolean): string {
    if (!this.v.kTail) return value;
    return `select(${vec ? "vec4f(0.0)" : "0.0"}, ${value}, kb0 + ${kk}u < K)`;
  }

  /** Column `c` (0..TN-1) of this invocation, clamped into C. */
  #col(c: number): string {
    return `min((group0 + ${(c >> 2) * this.c.wgx}u) * 4u + ${c & 3}u, N - 1u)`;
  }

  /** Statements that load A's values for the block, and an accessor a(r, kk). */
  #loadA(out: string[], q: number): (r: number, kk: number) => string {
    const { c, v, bm, kb4 } = this;
    if (c.stageA) {
      if (!v.transA) {
        for (let r = 0; r < c.tm; r++) {
          const read = `As[(lid.y * ${c.tm}u + ${r}u) * ${kb4}u + ${q / 4}u]`;
          out.push(`let a${r} = ${this.#fromShared(read)};`);
        }
        return (r, kk) => `a${r}.${COMP[kk]}`;
      }
      for (let kk = 0; kk < 4; kk++) {
        for (let g = 0; g < c.tm / 4; g++) {
          const read = `As[${(q + kk) * bm / 4}u + lid.y * ${c.tm / 4}u + ${g}u]`;
          out.push(`let a${kk}_${g} = ${this.#fromShared(read)};`);
        }
      }
      return (r, kk) => `a${kk}_${r >> 2}.${COMP[r & 3]}`;
    }
    const row = (r: number) => `min(row0 + ${r}u, M - 1u)`;
    if (!v.transA && v.aVec) {
      for (let r = 0; r < c.tm; r++) {
        out.push(`let a${r} = ${this.#direct(`A[(aBase + ${row(r)} * K + kb0) / 4u]`, true)};`);
      }
      return (r, kk) => `a${r}.${COMP[kk]}`;
    }
    if (v.transA && v.aVec) {
      for (let kk = 0; kk < 4; kk++) {
        for (let g = 0; g < c.tm / 4; g++) {
          const load = `A[(aBase + ${this.#k(kk)} * M) / 4u + min(row0 / 4u + ${g}u, M / 4u - 1u)]`;
          out.push(`let a${kk}_${g} = ${this.#direct(this.#mask(load, kk, true), true)};`);
        }
      }
      return (r, kk) => `a${kk}_${r >> 2}.${COMP[r & 3]}`;
    }
    for (let r = 0; r < c.tm; r++) {
      for (let kk = 0; kk < 4; kk++) {
        const index = v.transA
          ? `aBase + ${this.#k(kk)} * M + ${row(r)}`
          : `aBase + ${row(r)} * K + ${this.#k(kk)}`;
        out.push(`let a${r}_${kk} = ${this.#direct(this.#mask(`A[${index}]`, kk, false), false)};`);
      }
    }
    return (r, kk) => `a${r}_${kk}`;
  }

  /** Statements that load column group j of B for the block, and its 4 columns at kk. */
  #loadB(out: string[], q: number, j: number): (kk: number) => string {
    const { c, v, kb4 } = this;
    const cols = [0, 1, 2, 3].map((i) => 4 * j + i);
    const quad = (f: (col: number) => string) => `vec4f(${cols.map(f).join(", ")})`;
    if (c.stageB && !v.transB) {
      for (let kk = 0; kk < 4; kk++) {
        const read = `Bs[${(q + kk) * this.bn / 4}u + lid.x + ${j * c.wgx}u]`;
        out.push(`let b${kk}_${j} = ${this.#fromShared(read)};`);
      }
      return (kk) => `b${kk}_${j}`;
    }
    if (c.stageB) {
      for (const col of cols) {
        const local = `(lid.x + ${j * c.wgx}u) * 4u + ${col & 3}u`;
        out.push(`let b${col} = ${this.#fromShared(`Bs[(${local}) * ${kb4}u + ${q / 4}u]`)};`);
      }
      return (kk) => quad((col) => `b${col}.${COMP[kk]}`);
    }
    if (!v.transB && v.bVec) {
      for (let kk = 0; kk < 4; kk++) {
        const load = `B[(bBase + ${this.#k(kk)} * N) / 4u + min(group0 + ${
          j * c.wgx
        }u, N / 4u - 1u)]`;
        out.push(`let b${kk}_${j} = ${this.#direct(this.#mask(load, kk, true), true)};`);
      }
      return (kk) => `b${kk}_${j}`;
    }
    if (v.transB && v.bVec) {
      for (const col of cols) {
        out.push(
          `let b${col} = ${this.#direct(`B[(bBase + ${this.#col(col)} * K + kb0) / 4u]`, true)};`,
        );
      }
      return (kk) => quad((col) => `b${col}.${COMP[kk]}`);
    }
    for (let kk = 0; kk < 4; kk++) {
      for (const col of cols) {
        const index = v.transB
          ? `bBase + ${this.#col(col)} * K + ${this.#k(kk)}`
          : `bBase + ${this.#k(kk)} * N + ${this.#col(col)}`;
        out.push(
          `let b${kk}_${col} = ${this.#direct(this.#mask(`B[${index}]`, kk, false), false)};`,
        );
      }
    }
    return (kk) => quad((col) => `b${kk}_${col}`);
  }

  /** One unrolled block per 4 k of the staged depth: a loop here would cost lavapipe ~40%. */
  block(): string {
    const blocks: string[] = [];
    for (let q = 0; q < this.c.kb; q += 4) blocks.push(`{\n      ${this.#block(q)}\n    }`);
    return blocks.join("\n    ");
  }

  #block(q: number): string {
    const out: string[] = [`let kb0 = k0 + ${q}u;`];
    const a = this.#loadA(out, q);
    // B is loaded one column group at a time next to its use, which keeps fewer values live
    // (lavapipe compiles the 16 x 32 tile in 3 s instead of 4.5 s and runs it 8% faster).
    // Each accumulator takes its 4 multiply-adds in a row, so it is loaded and stored once per
    // block even when the tile is too large for the register file.
    for (let j = 0; j < this.c.tn / 4; j++) {
      const b = this.#loadB(out, q, j);
      for (let r = 0; r < this.c.tm; r++) {
        let e = `acc${r}_${j}`;
        for (let kk = 0; kk < 4; kk++) e = `fma(vec4f(${a(r, kk)}), ${b(kk)}, ${e})`;
        out.push(`acc${r}_${j} = ${e};`);
      }
    }
    return out.join("\n      ");
  }

  store(): string {
    const out: string[] = [];
    for (let r = 0; r < this.c.tm; r++) {
      for (let j = 0; j < this.c.tn / 4; j++) {
        const row = `row0 + ${r}u`;
        const group = `group0 + ${j * this.c.wgx}u`;
        if (this.v.cVec) {
          out.push(
            `if (${row} < M && ${group} < N / 4u) { ` +
              `C[(cBase + (${row}) * N) / 4u + ${group}] = ${
                this.#direct(`acc${r}_${j}`, true)
              }; }`,
          );
        } else {
          for (let i = 0; i < 4; i++) {
            out.push(
              `if (${row} < M && (${group}) * 4u + ${i}u < N) { ` +
                `C[cBase + (${row}) * N + (${group}) * 4u + ${i}u] = ${
                  this.#direct(`acc${r}_${j}.${COMP[i]}`, false)
                }; }`,
            );
          }
        }
      }
    }
    return out.join("\n  ");
  }
}
