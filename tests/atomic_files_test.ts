/**
 * Small things that used to fail badly: atomic writes flush the file before the rename and the
 * folder after it, under a temporary name of their own (two writers of one checkpoint path do
 * not share a `.partial`); a safetensors header that is not UTF-8 and a zip entry whose stored
 * size lies give errors naming the file (and the entry).
 */

import { zipSync } from "fflate";
import { writeFileAtomic } from "../nn/atomic-file.ts";
import { readSafetensors, writeSafetensors } from "../nn/safetensors.ts";
import { ZipReader } from "../data/zip-extract.ts";
import { assertEqual } from "./support/assert.ts";
import { bytes, withTemp } from "./support/data-server.ts";

async function rejects(p: Promise<unknown>, pattern: RegExp, label: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (pattern.test((err as Error).message)) return;
    throw new Error(`${label}: threw "${(err as Error).message}", expected ${pattern}`);
  }
  throw new Error(`${label}: did not throw`);
}

const leftovers = (dir: string) =>
  [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".partial"));

Deno.test("writeFileAtomic fsyncs the file before the rename and the folder after it", async () => {
  await withTemp(async (dir) => {
    const events: string[] = [];
    const sync = Deno.FsFile.prototype.sync;
    const rename = Deno.rename;
    Deno.FsFile.prototype.sync = function () {
      events.push("sync");
      return sync.call(this);
    };
    const deno = Deno as unknown as { rename: typeof Deno.rename };
    deno.rename = (from, to) => {
      events.push(`rename ${String(from).includes(".partial") ? "temporary" : "other"}`);
      return rename(from, to);
    };
    try {
      await writeFileAtomic(`${dir}/model.safetensors`, new Uint8Array([1, 2, 3]));
    } finally {
      Deno.FsFile.prototype.sync = sync;
      deno.rename = rename;
    }
    assertEqual(events, ["sync", "rename temporary", "sync"], "sync, rename, folder sync");
    assertEqual([...await Deno.readFile(`${dir}/model.safetensors`)], [1, 2, 3], "content");
    assertEqual(leftovers(dir), [], "no temporary file left");
  });
});

Deno.test("two writers of one checkpoint path never mix bytes or share a temporary file", async () => {
  await withTemp(async (dir) => {
    const path = `${dir}/ckpt.safetensors`;
    const a = { dtype: "f32" as const, shape: [250_000], data: new Float32Array(250_000).fill(1) };
    const b = { dtype: "f32" as const, shape: [250_000], data: new Float32Array(250_000).fill(2) };
    for (let round = 0; round < 3; round++) {
      await Promise.all([
        writeSafetensors(path, [["w", a]], { writer: "a" }),
        writeSafetensors(path, [["w", b]], { writer: "b" }),
      ]);
      const { tensors, metadata } = await readSafetensors(path);
      const values = tensors.get("w")!.data;
      const want = metadata.writer === "a" ? 1 : 2;
      if (values.some((v) => v !== want)) throw new Error(`round ${round}: mixed file`);
    }
    assertEqual(leftovers(dir), [], "no temporary file left");
    // A failed write removes its temporary file and names the target.
    await rejects(
      writeFileAtomic(`${dir}/missing/x.bin`, bytes(10)),
      /cannot write .*missing\/x\.bin/,
      "missing folder",
    );
    await writeFileAtomic(`${dir}/made/x.bin`, bytes(10), { mkdir: true });
    assertEqual(leftovers(`${dir}/made`), [], "mkdir write leaves nothing");
  });
});

Deno.test("a safetensors header that is not UTF-8 names the file and the byte", async () => {
  await withTemp(async (dir) => {
    const header = new TextEncoder().encode('{"__metadata__":{"a":"\u00e9"}}');
    header[header.indexOf(0xc3)] = 0xff; // the lead byte of "é" becomes a byte UTF-8 never uses
    const file = new Uint8Array(8 + header.length);
    new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
    file.set(header, 8);
    const path = `${dir}/bad-utf8.safetensors`;
    await Deno.writeFile(path, file);
    await rejects(
      readSafetensors(path),
      new RegExp(`${dir}/bad-utf8\\.safetensors: header is not valid UTF-8 \\(near byte 30 `),
      "non-UTF-8 header",
    );
  });
});

Deno.test("a zip entry whose stored size lies names the archive and the entry", async () => {
  await withTemp(async (dir) => {
    const zip = zipSync({ "imgs/a.jpg": bytes(300, 1), "imgs/b.jpg": bytes(200, 2) }, {
      level: 0,
    });
    // Central-directory record of the last entry: claim 10 MB of stored and real data.
    let at = -1;
    for (let i = zip.length - 46; i >= 0; i--) {
      if (zip[i] === 0x50 && zip[i + 1] === 0x4b && zip[i + 2] === 1 && zip[i + 3] === 2) {
        at = i;
        break;
      }
    }
    const view = new DataView(zip.buffer, zip.byteOffset);
    view.setUint32(at + 20, 10_000_000, true);
    view.setUint32(at + 24, 10_000_000, true);
    const path = `${dir}/liar.zip`;
    await Deno.writeFile(path, zip);
    using reader = await ZipReader.open(path);
    const entry = reader.entries.find((e) => e.name === "imgs/b.jpg")!;
    await rejects(
      reader.read(entry),
      new RegExp(
        `liar\\.zip: entry "imgs/b\\.jpg": unexpected end of file at byte \\d+ while reading ` +
          `its 10000000 stored bytes`,
      ),
      "lying size",
    );
    assertEqual((await reader.read(reader.entries[0])).length, 300, "the honest entry reads");
  });
});
