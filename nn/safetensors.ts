/**
 * The safetensors format (Hugging Face), so weights move between this toolkit and PyTorch/timm
 * without pickle: an 8-byte little-endian header length, a JSON header mapping each name to
 * `{dtype, shape, data_offsets}` (offsets relative to the byte buffer after the header) plus an
 * optional `__metadata__` of strings, then the raw little-endian bytes.
 *
 * Reading converts to the engine's dtypes: floats (F64/F32/F16/BF16) to f32, integers to i32
 * (I64 values outside the i32 range are an error, not a silent wrap). Writing emits F32 and I32,
 * or I64 for i32 data when asked, which is what PyTorch's `num_batches_tracked` expects.
 */

import { sizeOf } from "../gpu/backend.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import type { HostTensor } from "./host-tensor.ts";

/** Re-exported: the atomic, durable writer the checkpoints use (nn/atomic-file.ts). */
export { writeFileAtomic };

/** Element types the format defines that this reader understands. */
export type SafetensorsDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

const ITEM_BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** A tensor read from a file, with the dtype it had there. */
export interface SafetensorsTensor extends HostTensor {
  fileDtype: SafetensorsDType;
}

export interface SafetensorsContents {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** A tensor to write; `as` picks the file dtype (default F32 for f32, I32 for i32 data). */
export interface SafetensorsWriteEntry extends HostTensor {
  as?: "F32" | "I32" | "I64";
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Headers beyond this are corrupt files, not models (the reference library uses 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

function requireLittleEndian(): void {
  if (!LITTLE_ENDIAN) throw new Error("safetensors: big-endian hosts are not supported");
}

/** IEEE half to float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function convert(
  raw: Uint8Array,
  dtype: SafetensorsDType,
  count: number,
  where: string,
): Float32Array | Int32Array {
  // Copy first: the slice may sit at an offset that is not a multiple of the element size.
  const buf = raw.slice().buffer;
  switch (dtype) {
    case "F32":
      return new Float32Array(buf, 0, count);
    case "F64":
      return Float32Array.from(new Float64Array(buf, 0, count));
    case "F16": {
      const src = new Uint16Array(buf, 0, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    case "BF16": {
      const src = new Uint16Array(buf, 0, count);
      const bits = new Uint32Array(count);
      for (let i = 0; i < count; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case "I32":
      return new Int32Array(buf, 0, count);
    case "I64": {
      const src = new BigInt64Array(buf, 0, count);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = src[i];
        if (v > 2147483647n || v < -2147483648n) {
          throw new Error(`${where}: I64 value ${v} at element ${i} does not fit in i32`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    case "I16":
      return Int32Array.from(new Int16Array(buf, 0, count));
    case "I8":
      return Int32Array.from(new Int8Array(buf, 0, count));
    case "U8":
    case "BOOL":
      return Int32Array.from(new Uint8Array(buf, 0, count));
  }
}

/**
 * Offset of the first byte that starts no valid UTF-8 sequence (or the length, when only the
 * decoder's stricter rules, such as overlong forms, object), so the error can say where.
 */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const extra = c < 0x80
      ? 0
      : c >= 0xc2 && c < 0xe0
      ? 1
      : c >= 0xe0 && c < 0xf0
      ? 2
      : c >= 0xf0 && c < 0xf5
      ? 3
      : -1;
    if (extra < 0) return i;
    for (let k = 1; k <= extra; k++) {
      if (i + k >= b.length || (b[i + k] & 0xc0) !== 0x80) return i;
    }
    i += extra + 1;
  }
  return b.length;
}

function parseHeader(bytes: Uint8Array, source: string): { header: unknown; dataStart: number } {
  if (bytes.length < 8) {
    throw new Error(`${source}: not a safetensors file (${bytes.length} bytes, no header length)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new Error(
      `${source}: header length ${n} exceeds the file (${bytes.length} bytes); not safetensors?`,
    );
  }
  const len = Number(n);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + len));
  } catch {
    const at = firstInvalidUtf8(bytes.subarray(8, 8 + len));
    throw new Error(
      `${source}: header is not valid UTF-8 (near byte ${8 + at} of the file); not safetensors?`,
    );
  }
  try {
    return { header: JSON.parse(text), dataStart: 8 + len };
  } catch (err) {
    throw new Error(`${source}: header is not valid JSON (${(err as Error).message})`);
  }
}

function isDType(value: unknown): value is SafetensorsDType {
  return typeof value === "string" && value in ITEM_BYTES;
}

/** Decodes a whole safetensors file held in memory; `source` names it in errors. */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = "<safetensors>",
): SafetensorsContents {
  requireLittleEndian();
  const { header, dataStart } = parseHeader(bytes, source);
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new Error(`${source}: header must be a JSON object`);
  }
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [key, entry] of Object.entries(header as Record<string, unknown>)) {
    const where = `${source}: tensor "${key}"`;
    if (key === "__metadata__") {
      metadata = readMetadata(entry, source);
      continue;
    }
    if (entry === null || typeof entry !== "object") {
      throw new Error(`${where}: entry not an object`);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isDType(dtype)) throw new Error(`${where}: unsupported dtype ${JSON.stringify(dtype)}`);
    if (
      !Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)
    ) {
      throw new Error(`${where}: invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)
    ) {
      throw new Error(`${where}: invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const count = sizeOf(shape as number[]);
    if (end < begin || end - begin !== count * ITEM_BYTES[dtype]) {
      throw new Error(
        `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, ` +
          `but ${dtype} of shape [${shape}] needs ${count * ITEM_BYTES[dtype]}`,
      );
    }
    if (end > dataLength) {
      throw new Error(
        `${where}: data ends at byte ${end}, the file holds ${dataLength} (truncated?)`,
      );
    }
    spans.push([begin, end, key]);
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(key, {
      dtype: dtype === "F32" || dtype === "F64" || dtype === "F16" || dtype === "BF16"
        ? "f32"
        : "i32",
      shape: shape as number[],
      data: convert(raw, dtype, count, where),
      fileDtype: dtype,
    });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][0] < spans[i - 1][1]) {
      throw new Error(`${source}: tensors "${spans[i - 1][2]}" and "${spans[i][2]}" overlap`);
    }
  }
  return { tensors, metadata };
}

function readMetadata(entry: unknown, source: string): Record<string, string> {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw new Error(`${source}: __metadata__ must be an object of strings`);
  }
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== "string") throw new Error(`${source}: __metadata__ "${k}" is not a string`);
  }
  return { ...(entry as Record<string, string>) };
}

function encodeData(
  entry: SafetensorsWriteEntry,
  key: string,
): { dtype: string; bytes: Uint8Array } {
  const as = entry.as ?? (entry.dtype === "f32" ? "F32" : "I32");
  if ((as === "F32") !== (entry.dtype === "f32")) {
    throw new Error(
      `safetensors: tensor "${key}" holds ${entry.dtype} data, cannot write as ${as}`,
    );
  }
  if (as === "I64") {
    const wide = BigInt64Array.from(entry.data as Int32Array, (v) => BigInt(v));
    return { dtype: as, bytes: new Uint8Array(wide.buffer) };
  }
  const d = entry.data;
  return { dtype: as, bytes: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) };
}

/** Encodes tensors (in the given order) and string metadata into safetensors bytes. */
export function encodeSafetensors(
  tensors: Iterable<readonly [string, SafetensorsWriteEntry]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  requireLittleEndian();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [key, entry] of tensors) {
    if (key === "__metadata__" || key in header) {
      throw new Error(`safetensors: tensor name "${key}" is reserved or repeated`);
    }
    if (sizeOf(entry.shape) !== entry.data.length) {
      throw new Error(
        `safetensors: tensor "${key}" has ${entry.data.length} values for [${entry.shape}]`,
      );
    }
    const { dtype, bytes } = encodeData(entry, key);
    header[key] = { dtype, shape: [...entry.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // The reference writer pads the header with spaces so the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Reads a safetensors file; errors name the file and, where it applies, the tensor. */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new Error(`cannot read safetensors file ${path}: ${(err as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

/** Writes tensors and metadata as a safetensors file, atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, SafetensorsWriteEntry]>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
