/**
 * Zip reading by central directory, one entry at a time.
 *
 * Why not unzip the whole archive in memory: the ISIC archives hold tens of
 * thousands of images and gigabytes of data. Entries are read by offset and
 * inflated with fflate one by one, CRC-checked, and ZIP64 archives work.
 * Every entry name is checked before anything is written: names that would
 * land outside the target folder ("../", absolute paths, drive letters) make
 * the whole archive be refused, naming the entry.
 */
import { inflateSync } from "fflate";
import { crc32 } from "node:zlib";
import { isAbsolute, join, posix, relative, resolve } from "node:path";
import { writeFileAtomic } from "../nn/atomic-file.ts";

/** One file or folder listed in the archive's central directory. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
  isDirectory: boolean;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/**
 * Returns the entry's path relative to the target folder, or throws naming
 * the entry when it is absolute or would escape the folder.
 */
export function safeEntryPath(name: string, targetDir: string, archive = "zip"): string {
  const slashed = name.replaceAll("\\", "/");
  const refuse = (why: string) =>
    new Error(`refusing ${archive}: entry "${name}" ${why} (target folder ${targetDir})`);
  if (slashed.includes("\0")) throw refuse("contains a NUL character");
  if (slashed.startsWith("/") || /^[a-zA-Z]:/.test(slashed) || isAbsolute(slashed)) {
    throw refuse("is an absolute path");
  }
  const normal = posix.normalize(slashed);
  if (normal === ".." || normal.startsWith("../")) throw refuse("escapes the target folder");
  const root = resolve(targetDir);
  const rel = relative(root, resolve(root, normal));
  if (rel.startsWith("..") || isAbsolute(rel)) throw refuse("escapes the target folder");
  return normal;
}

/** Random access to a zip file's entries. Close it (or use `using`) when done. */
export class ZipReader implements Disposable {
  readonly path: string;
  readonly entries: ZipEntry[];
  private readonly file: Deno.FsFile;
  /** Seek + read pairs must not interleave when several callers read at once. */
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(path: string, file: Deno.FsFile, entries: ZipEntry[]) {
    this.path = path;
    this.file = file;
    this.entries = entries;
  }

  /** Opens an archive and reads its central directory; a broken one fails naming the file. */
  static async open(path: string): Promise<ZipReader> {
    const file = await Deno.open(path, { read: true });
    try {
      const entries = await readCentralDirectory(file, path);
      return new ZipReader(path, file, entries);
    } catch (err) {
      file.close();
      const message = (err as Error).message;
      throw message.includes(path) ? err : new Error(`${path}: ${message}`);
    }
  }

  /** Inflates one entry and checks its CRC; errors name the archive and the entry. */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    const where = `${this.path}: entry "${entry.name}"`;
    if (entry.flags & 1) throw new Error(`${where} is encrypted`);
    const header = await this.readLocked(entry.localHeaderOffset, 30).catch((err) => {
      throw new Error(`${where}: local header: ${(err as Error).message} (truncated archive?)`);
    });
    const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
    if (view.getUint32(0, true) !== LOCAL_SIG) throw new Error(`${where}: bad local header`);
    const dataStart = entry.localHeaderOffset + 30 + view.getUint16(26, true) +
      view.getUint16(28, true);
    const raw = await this.readLocked(dataStart, entry.compressedSize).catch((err) => {
      throw new Error(
        `${where}: ${(err as Error).message} while reading its ${entry.compressedSize} stored ` +
          `bytes from byte ${dataStart} (a truncated archive, or a stored size that lies)`,
      );
    });
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        data = inflateSync(raw, { out: new Uint8Array(entry.size) });
      } catch (err) {
        throw new Error(`${where}: corrupt deflate data (${(err as Error).message})`);
      }
    } else {
      throw new Error(`${where}: unsupported compression method ${entry.method}`);
    }
    if (data.length !== entry.size || (crc32(data) >>> 0) !== entry.crc32) {
      throw new Error(`${where}: CRC or size mismatch (corrupt archive?)`);
    }
    return data;
  }

  /**
   * Reads every file entry and checks its CRC-32 and size (the archive's own checksums), one
   * entry at a time; the first damaged one throws naming the archive and the entry.
   */
  async verify(onEntry?: () => void): Promise<number> {
    let files = 0;
    for (const entry of this.entries) {
      if (entry.isDirectory) continue;
      await this.read(entry);
      files++;
      onEntry?.();
    }
    return files;
  }

  private readLocked(position: number, length: number): Promise<Uint8Array> {
    const run = this.lock.then(() => readAt(this.file, position, length));
    this.lock = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

async function readAt(file: Deno.FsFile, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await file.seek(position, Deno.SeekMode.Start);
  let done = 0;
  while (done < length) {
    const n = await file.read(out.subarray(done));
    if (n === null) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return out;
}

async function readCentralDirectory(file: Deno.FsFile, path: string): Promise<ZipEntry[]> {
  const size = (await file.stat()).size;
  const tailLength = Math.min(size, 22 + 65535);
  const tail = await readAt(file, size - tailLength, tailLength);
  const tv = new DataView(tail.buffer);
  let eocd = -1;
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path} is not a zip archive (no end-of-directory record)`);
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tv.getUint32(loc, true) !== ZIP64_LOCATOR_SIG) {
      throw new Error(`${path}: ZIP64 locator missing`);
    }
    const z64 = await readAt(file, Number(tv.getBigUint64(loc + 8, true)), 56);
    const zv = new DataView(z64.buffer);
    if (zv.getUint32(0, true) !== ZIP64_EOCD_SIG) throw new Error(`${path}: bad ZIP64 record`);
    count = Number(zv.getBigUint64(32, true));
    cdSize = Number(zv.getBigUint64(40, true));
    cdOffset = Number(zv.getBigUint64(48, true));
  }
  if (cdOffset + cdSize > size) throw new Error(`${path}: truncated zip (directory past the end)`);
  const cd = await readAt(file, cdOffset, cdSize);
  const v = new DataView(cd.buffer);
  const entries: ZipEntry[] = [];
  const utf8 = new TextDecoder("utf-8");
  const latin1 = new TextDecoder("latin1");
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL_SIG) {
      throw new Error(`${path}: corrupt central directory at entry ${i}`);
    }
    const flags = v.getUint16(p + 8, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
    const name = (flags & 0x800 ? utf8 : latin1).decode(nameBytes);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          const value = Number(v.getBigUint64(q, true));
          q += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + len;
    }
    entries.push({
      name,
      method: v.getUint16(p + 10, true),
      flags,
      crc32: v.getUint32(p + 16, true),
      compressedSize,
      size,
      localHeaderOffset,
      isDirectory: name.endsWith("/"),
    });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** Throws naming the first entry that would be written outside `targetDir`. */
export function assertSafeEntries(entries: ZipEntry[], targetDir: string, archive: string): void {
  for (const entry of entries) safeEntryPath(entry.name, targetDir, archive);
}

/**
 * Extracts an archive into `targetDir` (all entries, or those `filter`
 * accepts). Every name is checked first, so a hostile archive writes nothing.
 * Files are written atomically; a file already there with the entry's size is
 * kept (so a rerun after an interruption only writes what is missing).
 */
export async function extractZip(
  zipPath: string,
  targetDir: string,
  filter: (entry: ZipEntry) => boolean = () => true,
): Promise<{ files: number; kept: number }> {
  using zip = await ZipReader.open(zipPath);
  assertSafeEntries(zip.entries, targetDir, zipPath);
  let files = 0;
  let kept = 0;
  for (const entry of zip.entries) {
    if (entry.isDirectory || !filter(entry)) continue;
    const out = join(targetDir, safeEntryPath(entry.name, targetDir, zipPath));
    const existing = await Deno.stat(out).catch(() => undefined);
    if (existing?.isFile && existing.size === entry.size) {
      kept++;
      continue;
    }
    await writeFileAtomic(out, await zip.read(entry), { mkdir: true });
    files++;
  }
  return { files, kept };
}
