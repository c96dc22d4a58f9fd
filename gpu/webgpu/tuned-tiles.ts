/**
 * Tile shapes measured on this machine's GPU by `deno task tune` (tools/tune-tiles.ts), read
 * once when a hardware-tile runtime opens. The built-in hardware tiles are sound defaults for any
 * GPU; which register tile is fastest depends on the card and driver, so the tuner times the
 * candidates on the real adapter and writes the winners here, keyed by the adapter, and the
 * GEMM and convolution kernels take them from then on. A missing file, or one written for
 * another adapter, leaves the defaults; a corrupt one is named in a warning and ignored.
 */

import { join } from "node:path";
import type { TileConfig as MatmulTile } from "./matmul-codegen.ts";

/** The problem classes each kernel family picks its tile by (matmul.ts, conv-tile.ts). */
export const MATMUL_BUCKETS = ["large", "default"] as const;
export const CONV_BUCKETS = ["big", "narrow", "default"] as const;
export type MatmulBucket = (typeof MATMUL_BUCKETS)[number];
export type ConvBucket = (typeof CONV_BUCKETS)[number];

/** A convolution register tile; the invocations along the channels follow from the channels. */
export interface ConvShape {
  tm: number;
  tn: number;
  tk: number;
  /** Load the next k slice into registers during the multiply-adds (conv-tile.ts). */
  prefetch?: boolean;
}

export interface TunedTiles {
  /** `description | vendor` of the adapter the tiles were measured on. */
  adapter: string;
  /** When and with which Deno they were measured. */
  measured: string;
  matmul: Partial<Record<MatmulBucket, MatmulTile>>;
  conv: Partial<Record<ConvBucket, ConvShape>>;
}

/** Where the tuner writes and the runtime reads: $SDU_TILES_FILE, else the user's cache. */
export function tunedTilesPath(): string | null {
  try {
    const explicit = Deno.env.get("SDU_TILES_FILE");
    if (explicit) return explicit;
    const base = Deno.env.get("XDG_CACHE_HOME") ??
      (Deno.env.get("HOME") ? join(Deno.env.get("HOME")!, ".cache") : null);
    return base ? join(base, "skin-deep-unlearning", "webgpu-tiles.json") : null;
  } catch {
    return null; // no --allow-env: the defaults
  }
}

export function adapterKey(description: string, vendor: string): string {
  return `${description} | ${vendor}`;
}

const positiveInts = (o: Record<string, unknown>, keys: string[]) =>
  keys.every((k) => Number.isInteger(o[k]) && (o[k] as number) > 0);

const optionalFlag = (v: unknown) => v === undefined || typeof v === "boolean";

/** Checks the file's shape; throws naming what is wrong. */
export function parseTunedTiles(text: string): TunedTiles {
  const t = JSON.parse(text) as TunedTiles;
  if (typeof t?.adapter !== "string" || typeof t.matmul !== "object" || !t.conv) {
    throw new Error("expected { adapter, measured, matmul, conv }");
  }
  for (const [bucket, c] of Object.entries(t.matmul)) {
    const ok = (MATMUL_BUCKETS as readonly string[]).includes(bucket) && c &&
      positiveInts(c as unknown as Record<string, unknown>, ["wgx", "wgy", "tm", "tn", "kb"]) &&
      typeof c.stageA === "boolean" && typeof c.stageB === "boolean" && optionalFlag(c.prefetch);
    if (!ok) throw new Error(`matmul.${bucket} is not a tile: ${JSON.stringify(c)}`);
  }
  for (const [bucket, c] of Object.entries(t.conv)) {
    const ok = (CONV_BUCKETS as readonly string[]).includes(bucket) && c &&
      positiveInts(c as unknown as Record<string, unknown>, ["tm", "tn", "tk"]) &&
      optionalFlag(c.prefetch);
    if (!ok) throw new Error(`conv.${bucket} is not a tile: ${JSON.stringify(c)}`);
  }
  return t;
}

/** The tuned tiles for this adapter, or null (none, another adapter's, or unreadable). */
export function loadTunedTiles(key: string, path = tunedTilesPath()): TunedTiles | null {
  if (!path) return null;
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    return null;
  }
  try {
    const tiles = parseTunedTiles(text);
    return tiles.adapter === key ? tiles : null;
  } catch (err) {
    console.warn(
      `ignoring the tuned WebGPU tiles in ${path} (${(err as Error).message}); ` +
        "run `deno task tune` to measure them again",
    );
    return null;
  }
}
