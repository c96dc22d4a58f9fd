import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { zipSync } from "fflate";
import { Image } from "imagescript";
import type { AnnotationCsv, DatasetEntry } from "../data/catalog.ts";
import { runDownload } from "../data/download-command.ts";
import { downloadFile } from "../data/http-download.ts";
import { extractZip, safeEntryPath } from "../data/zip-extract.ts";
import { bands, bytes, exists, serve, withTemp } from "./support/data-server.ts";

function entry(name: string, url: string, root: string, expected: number): DatasetEntry {
  return {
    name,
    title: `test set ${name}`,
    folder: name,
    expectedImages: expected,
    licence: "test data",
    csvs: [`${name}.csv`],
    sources: [{ kind: "http", url, archive: `${name}.zip`, imageRoot: root }],
    flatten: true,
  };
}

function csvSpec(name: string): AnnotationCsv {
  return {
    file: `${name}.csv`,
    urls: [`https://example.org/csv/${name}.csv`],
    columns: ["image_name", "target"],
  };
}

const quiet = { progress: false, workers: 2, retryDelayMs: 5 };

// ---------- tests ----------

Deno.test("download + extract + centre-crop/resize yields the files, sizes and a rerun skips", async () => {
  const zip = zipSync({
    "pack/imgs/wide.jpg": await bands(60, 20),
    "pack/imgs/sub/tall.jpg": await bands(20, 50),
    "pack/imgs/small.png": await bands(12, 12, true),
    "pack/notes.txt": new TextEncoder().encode("not an image"),
    "other/outside.jpg": await bands(10, 10),
  });
  const srv = serve({
    "/example.org/files/toy.zip": { body: zip },
    "/example.org/csv/toy.csv": { body: "image_name,target\nwide.jpg,0\n" },
  });
  try {
    await withTemp(async (dir) => {
      const lines: string[] = [];
      const options = {
        ...quiet,
        dir,
        imageSize: 16,
        catalog: [entry("toy", "https://example.org/files/toy.zip", "pack/imgs", 3)],
        annotationCsvs: [csvSpec("toy")],
        baseUrlOverride: srv.base,
        log: (l: string) => lines.push(l),
      };
      const report = await runDownload(options);
      assert.equal(report.ok, true, lines.join("\n"));
      assert.deepEqual(report.rows[0], {
        dataset: "toy",
        found: 3,
        expected: 3,
        status: "complete",
        ok: true,
      });
      const out = `${dir}/images/toy_16`;
      const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
      assert.deepEqual(names, [".done.json", "small.png", "tall.jpg", "wide.jpg"]);
      for (const n of ["wide.jpg", "tall.jpg", "small.png"]) {
        const img = await Image.decode(await Deno.readFile(`${out}/${n}`));
        assert.equal(`${img.width}x${img.height}`, "16x16", n);
        // The centre crop is the middle (green) band; its middle stays green after resizing.
        const [r, g, b] = img.getRGBAAt(8, 8);
        assert.ok(g > 200 && r < 60 && b < 60, `${n} centre is ${r},${g},${b}`);
      }
      assert.equal(
        await Deno.readTextFile(`${dir}/csv/toy.csv`),
        "image_name,target\nwide.jpg,0\n",
      );
      assert.ok(await exists(`${dir}/raw_images/toy.zip`));
      const table = lines.join("\n").split("\n");
      assert.ok(table.some((l) => /^toy\s+3\s+3\s+complete$/.test(l)), table.join("\n"));

      const zipRequests = srv.log.filter((r) => r.path.endsWith("toy.zip")).length;
      const before = (await Deno.stat(`${out}/wide.jpg`)).mtime?.getTime();
      const again = await runDownload(options);
      assert.equal(again.rows[0].status, "complete (already done)");
      assert.equal(again.rows[0].found, 3);
      assert.equal(srv.log.filter((r) => r.path.endsWith("toy.zip")).length, zipRequests);
      assert.equal((await Deno.stat(`${out}/wide.jpg`)).mtime?.getTime(), before);
    });
  } finally {
    await srv.close();
  }
});

Deno.test("an interrupted download resumes with Range and is byte-identical", async () => {
  const body = bytes(300_000, 7);
  const srv = serve({
    "/cut.bin": { body, cutFirstAt: 100_000 },
    "/norange.bin": { body, ignoreRange: true },
    "/whole.bin": { body },
  });
  try {
    await withTemp(async (dir) => {
      const got = await downloadFile(
        { url: `${srv.base}/cut.bin`, dest: `${dir}/cut.bin` },
        { retryDelayMs: 5 },
      );
      assert.deepEqual(await Deno.readFile(`${dir}/cut.bin`), body);
      assert.equal(got.resumed, true);
      const cutLog = srv.log.filter((r) => r.path === "/cut.bin");
      assert.equal(cutLog.length, 2);
      assert.equal(cutLog[0].range, null);
      const offset = Number(cutLog[1].range?.match(/^bytes=(\d+)-$/)?.[1]);
      assert.ok(offset > 0 && offset <= 100_000, `resumed at ${cutLog[1].range}`);
      assert.equal(await exists(`${dir}/cut.bin.partial`), false);

      // A partial file left by an earlier run is continued from its length.
      await Deno.writeFile(`${dir}/whole.bin.partial`, body.slice(0, 1234));
      const resumed = await downloadFile({
        url: `${srv.base}/whole.bin`,
        dest: `${dir}/whole.bin`,
      });
      assert.equal(resumed.resumed, true);
      assert.equal(srv.log.at(-1)?.range, "bytes=1234-");
      assert.deepEqual(await Deno.readFile(`${dir}/whole.bin`), body);

      // A server that ignores Range (200) makes the download start over, still identical.
      await Deno.writeFile(`${dir}/nr.bin.partial`, body.slice(0, 5000));
      const restarted = await downloadFile({
        url: `${srv.base}/norange.bin`,
        dest: `${dir}/nr.bin`,
      });
      assert.equal(restarted.resumed, false);
      assert.deepEqual(await Deno.readFile(`${dir}/nr.bin`), body);

      // Complete files are not fetched again.
      const n = srv.log.length;
      assert.equal(
        (await downloadFile({ url: `${srv.base}/whole.bin`, dest: `${dir}/whole.bin` })).skipped,
        true,
      );
      assert.equal(srv.log.length, n);
    });
  } finally {
    await srv.close();
  }
});

Deno.test("a checksum mismatch names the file and leaves neither partial nor final file", async () => {
  const body = bytes(50_000, 3);
  const good = createHash("sha256").update(body).digest("hex");
  const srv = serve({ "/blob.bin": { body } });
  try {
    await withTemp(async (dir) => {
      const dest = `${dir}/blob.bin`;
      await assert.rejects(
        () => downloadFile({ url: `${srv.base}/blob.bin`, dest, sha256: "0".repeat(64) }),
        (err: Error) =>
          /checksum mismatch for blob\.bin/.test(err.message) && err.message.includes(good),
      );
      assert.equal(await exists(dest), false);
      assert.equal(await exists(`${dest}.partial`), false);
      await assert.rejects(
        () => downloadFile({ url: `${srv.base}/blob.bin`, dest, size: 49_999 }),
        /size mismatch for blob\.bin: expected 49999 bytes, got 50000/,
      );
      assert.equal(await exists(`${dest}.partial`), false);
      await downloadFile({ url: `${srv.base}/blob.bin`, dest, sha256: good, size: body.length });
      assert.deepEqual(await Deno.readFile(dest), body);
      await assert.rejects(
        () =>
          downloadFile({ url: `${srv.base}/missing.bin`, dest: `${dir}/m.bin` }, { retries: 0 }),
        (err: Error) =>
          err.message.includes(`${srv.base}/missing.bin`) && err.message.includes("404"),
      );
    });
  } finally {
    await srv.close();
  }
});

Deno.test("a zip with ../ or absolute entries is refused, naming the entry, writing nothing", async () => {
  const good = await bands(30, 20);
  const evil = zipSync({ "pack/ok.jpg": good, "../evil.jpg": good });
  const srv = serve({
    "/h/evil.zip": { body: evil },
    "/h/evil.csv": { body: "image_name,target\n" },
  });
  try {
    await withTemp(async (dir) => {
      const report = await runDownload({
        ...quiet,
        dir: `${dir}/data`,
        imageSize: 16,
        catalog: [entry("evil", "https://h/evil.zip", "pack", 1)],
        annotationCsvs: [csvSpec("evil")].map((c) => ({ ...c, urls: ["https://h/evil.csv"] })),
        baseUrlOverride: srv.base,
        log: () => {},
      });
      assert.equal(report.ok, false);
      assert.match(report.rows[0].status, /failed: refusing .*entry "\.\.\/evil\.jpg" escapes/);
      assert.equal(await exists(`${dir}/data/images/evil_16/ok.jpg`), false);
      assert.equal(await exists(`${dir}/data/images/evil.jpg`), false);
      assert.equal(await exists(`${dir}/data/raw_images/evil.jpg`), false);

      await Deno.writeFile(`${dir}/abs.zip`, zipSync({ "a.jpg": good, "/etc/abs.jpg": good }));
      await assert.rejects(
        () => extractZip(`${dir}/abs.zip`, `${dir}/x`),
        /entry "\/etc\/abs\.jpg" is an absolute path/,
      );
      await Deno.writeFile(`${dir}/deep.zip`, zipSync({ "a/../../up.jpg": good }));
      await assert.rejects(
        () => extractZip(`${dir}/deep.zip`, `${dir}/x`),
        /"a\/\.\.\/\.\.\/up\.jpg" escapes/,
      );
      assert.equal(await exists(`${dir}/x/a.jpg`), false);
      assert.equal(safeEntryPath("a/../b.jpg", dir), "b.jpg");
      assert.throws(() => safeEntryPath("C:\\win.jpg", dir), /absolute/);
      // A clean archive extracts, and a rerun keeps what is there.
      await Deno.writeFile(`${dir}/ok.zip`, zipSync({ "d/a.jpg": good, "d/e/": new Uint8Array() }));
      assert.deepEqual(await extractZip(`${dir}/ok.zip`, `${dir}/y`), { files: 1, kept: 0 });
      assert.deepEqual(await Deno.readFile(`${dir}/y/d/a.jpg`), good);
      assert.deepEqual(await extractZip(`${dir}/ok.zip`, `${dir}/y`), { files: 0, kept: 1 });
    });
  } finally {
    await srv.close();
  }
});

Deno.test("corrupt image skipped by name; bad CSV names its column; missing manual archive is explained", async () => {
  const good = await bands(40, 30);
  const broken = good.slice(0, 120);
  const srv = serve({
    "/s/c.zip": { body: zipSync({ "imgs/good.jpg": good, "imgs/broken.jpg": broken }) },
    "/s/c.csv": { body: "image_name,label\ngood.jpg,0\n" },
  });
  try {
    await withTemp(async (dir) => {
      const lines: string[] = [];
      const manual: DatasetEntry = {
        ...entry("manualset", "", "", 5),
        csvs: [],
        sources: [{ kind: "manual", archive: "release_v0.zip", instructions: "ask nicely" }],
      };
      const report = await runDownload({
        ...quiet,
        dir,
        imageSize: 24,
        catalog: [manual, entry("c", "https://s/c.zip", "imgs", 2)],
        annotationCsvs: [{ ...csvSpec("c"), urls: ["https://s/c.csv"] }],
        baseUrlOverride: srv.base,
        log: (l) => lines.push(l),
      });
      const text = lines.join("\n");
      const [m, c] = report.rows;
      assert.equal(m.status, "manual download needed");
      assert.ok(
        text.includes("ask nicely") && text.includes(`${dir}/raw_images/release_v0.zip`),
        text,
      );
      assert.equal(c.status, "incomplete (1 corrupt)");
      assert.equal(c.found, 1);
      assert.match(text, /skipped corrupt image broken\.jpg/);
      assert.ok(await exists(`${dir}/images/c_24/good.jpg`));
      assert.equal(await exists(`${dir}/images/c_24/broken.jpg`), false);
      assert.equal(
        [...Deno.readDirSync(`${dir}/images/c_24`)].some((e) => e.name.endsWith(".partial")),
        false,
      );
      assert.equal(report.csvErrors.length, 1);
      assert.match(report.csvErrors[0], /c\.csv.*missing required column "target"/);
      assert.equal(await exists(`${dir}/csv/c.csv`), false);
      assert.equal(report.ok, false);
      const marker = JSON.parse(await Deno.readTextFile(`${dir}/images/c_24/.done.json`));
      assert.deepEqual(marker.corrupt, ["broken.jpg"]);
      const again = await runDownload({
        ...quiet,
        dir,
        imageSize: 24,
        only: ["c"],
        catalog: [manual, entry("c", "https://s/c.zip", "imgs", 2)],
        annotationCsvs: [],
        baseUrlOverride: srv.base,
        log: () => {},
      });
      assert.equal(again.rows[0].status, "incomplete (already done, 1 corrupt)");
    });
  } finally {
    await srv.close();
  }
});

Deno.test("URL-list datasets retry only failed images; private folders keep sub-folders", async () => {
  const img = await bands(30, 10);
  const srv = serve({
    "/csv/list.csv": {
      body: "md5hash,url\nh1,https://img/a.jpg\nh2,https://img/b.jpg\nh3,https://img/gone.jpg\n",
    },
    "/img/a.jpg": { body: img, type: "image/jpeg" },
    "/img/b.jpg": { body: img, type: "image/jpeg" },
  });
  const fitz: DatasetEntry = {
    ...entry("fitz", "", "", 3),
    csvs: [],
    sources: [{
      kind: "url-list",
      csvUrl: "https://csv/list.csv",
      csvFile: "list.csv",
      urlColumn: "url",
      nameColumn: "md5hash",
      extension: ".jpg",
    }],
  };
  const heid: DatasetEntry = {
    ...entry("hh", "", "", 2),
    csvs: [],
    flatten: false,
    sources: [{ kind: "local-folder", envVar: "TEST_HEID_DIR", layout: "Markings/ and Rulers/" }],
  };
  try {
    await withTemp(async (dir) => {
      const run = (heidelbergDir?: string) =>
        runDownload({
          ...quiet,
          dir,
          imageSize: 8,
          retries: 0,
          catalog: [fitz, heid],
          annotationCsvs: [],
          baseUrlOverride: srv.base,
          heidelbergDir,
          env: { get: () => undefined },
          log: () => {},
        });
      const first = await run();
      assert.equal(first.rows[0].status, "incomplete (1 not fetched)");
      assert.equal(first.rows[0].found, 2);
      assert.ok(await exists(`${dir}/images/fitz_8/h1.jpg`));
      assert.equal(first.rows[1].status, "private: set TEST_HEID_DIR");
      assert.equal(first.rows[1].ok, true);

      await Deno.mkdir(`${dir}/private/Markings`, { recursive: true });
      await Deno.mkdir(`${dir}/private/Rulers`);
      await Deno.writeFile(`${dir}/private/Markings/p.jpg`, img);
      await Deno.writeFile(`${dir}/private/Rulers/p.jpg`, img);
      const second = await run(`${dir}/private`);
      // Only the missing image is asked for again.
      assert.equal(srv.log.filter((r) => r.path === "/img/a.jpg").length, 1);
      assert.equal(srv.log.filter((r) => r.path === "/img/gone.jpg").length, 2);
      assert.equal(second.rows[0].found, 2);
      assert.deepEqual(second.rows[1], {
        dataset: "hh",
        found: 2,
        expected: 2,
        status: "complete",
        ok: true,
      });
      assert.ok(await exists(`${dir}/images/hh_8/Markings/p.jpg`));
      assert.ok(await exists(`${dir}/images/hh_8/Rulers/p.jpg`));
    });
  } finally {
    await srv.close();
  }
});
