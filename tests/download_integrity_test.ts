/**
 * Downloads are verified and nothing is dropped silently: the sha256 of every file is locked on
 * first download and held to afterwards (and by `download --verify`), figshare's published MD5
 * is checked, a new archive's CRCs are all checked, an annotation CSV cut mid-row (served
 * without Content-Length) or short of the study's row count is refused, two different images
 * of one name fail naming both entries, and an incomplete dataset is a failure unless allowed.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { zipSync } from "fflate";
import type { AnnotationCsv, DatasetEntry } from "../data/catalog.ts";
import { runDownload } from "../data/download-command.ts";
import { LOCK_FILE } from "../data/download-lock.ts";
import { verifyDownloads } from "../data/download-verify.ts";
import { bands, exists, serve, withTemp } from "./support/data-server.ts";

const quiet = { progress: false, workers: 0, retryDelayMs: 5, retries: 0 };

function entry(name: string, url: string, expected: number, extra = {}): DatasetEntry {
  return {
    name,
    title: `test set ${name}`,
    folder: name,
    expectedImages: expected,
    licence: "test data",
    csvs: [`${name}.csv`],
    sources: [{ kind: "http", url, archive: `${name}.zip`, imageRoot: "imgs", ...extra }],
    flatten: true,
  };
}

const CSV = "image_name,target\na.jpg,0\nb.jpg,1\nc.jpg,0\n";
const csvSpec = (name: string, rows?: number): AnnotationCsv => ({
  file: `${name}.csv`,
  urls: [`https://example.org/csv/${name}.csv`],
  columns: ["image_name", "target"],
  rows,
});

/** A response with no Content-Length (a chunked stream), as some hosts send. */
const chunked = (text: string) => () =>
  new Response(
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(text));
        c.close();
      },
    }),
    { headers: { "content-type": "text/csv" } },
  );

const lockOf = async (dir: string) =>
  JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).files as Record<
    string,
    { sha256: string; size: number }
  >;

Deno.test("sha256 is locked on first download; a changed file is fetched again or refused, and --verify sees it", async () => {
  const zip = zipSync({ "imgs/a.jpg": await bands(20, 20), "imgs/b.jpg": await bands(30, 20) });
  let csvBody = CSV;
  const srv = serve({
    "/example.org/files/t.zip": { body: zip },
    "/example.org/csv/t.csv": () => new Response(csvBody),
  });
  try {
    await withTemp(async (dir) => {
      const lines: string[] = [];
      const options = {
        ...quiet,
        dir,
        imageSize: 8,
        catalog: [entry("t", "https://example.org/files/t.zip", 2)],
        annotationCsvs: [csvSpec("t", 3)],
        baseUrlOverride: srv.base,
        log: (l: string) => lines.push(l),
      };
      const first = await runDownload(options);
      assert.equal(first.ok, true, lines.join("\n"));
      const lock = await lockOf(dir);
      const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");
      assert.deepEqual(lock["csv/t.csv"], {
        ...lock["csv/t.csv"],
        sha256: sha(CSV),
        size: CSV.length,
      });
      assert.equal(lock["raw_images/t.zip"].sha256, sha(zip));
      assert.equal((await verifyDownloads({ dir, log: () => {} })).ok, true);

      // A damaged local copy is noticed and fetched again.
      await Deno.writeTextFile(`${dir}/csv/t.csv`, CSV.replace("b.jpg,1", "b.jpg,0"));
      const v = await verifyDownloads({ dir, log: () => {} });
      assert.equal(v.ok, false);
      assert.deepEqual(v.rows.find((r) => r.file === "csv/t.csv")?.status, "changed");
      lines.length = 0;
      assert.equal((await runDownload(options)).ok, true, lines.join("\n"));
      assert.match(lines.join("\n"), /t\.csv differs from the copy recorded .*; fetching it again/);
      assert.equal(await Deno.readTextFile(`${dir}/csv/t.csv`), CSV);

      // The host now serves other bytes: refused, naming the lock and how to accept them.
      csvBody = CSV.replace("c.jpg,0", "c.jpg,1");
      await Deno.remove(`${dir}/csv/t.csv`);
      const changed = await runDownload(options);
      assert.equal(changed.ok, false);
      assert.match(
        changed.csvErrors[0],
        new RegExp(`checksum mismatch for t\\.csv.*${LOCK_FILE}.*delete the entry "csv/t\\.csv"`),
      );
      assert.equal(await exists(`${dir}/csv/t.csv`), false);

      // A changed archive is listed by --verify.
      const bytes = await Deno.readFile(`${dir}/raw_images/t.zip`);
      bytes[bytes.length - 30] ^= 0xff;
      await Deno.writeFile(`${dir}/raw_images/t.zip`, bytes);
      const after = await verifyDownloads({ dir, log: () => {} });
      assert.equal(after.rows.find((r) => r.file === "raw_images/t.zip")?.status, "changed");
      assert.equal(after.rows.find((r) => r.file === "csv/t.csv")?.status, "missing");
    });
  } finally {
    await srv.close();
  }
});

Deno.test("an annotation CSV cut mid-row without Content-Length, or short of its rows, is refused", async () => {
  const cut = CSV.slice(0, CSV.indexOf("b.jpg,1") + 5); // "...\nb.jpg": the last row lost its target
  const srv = serve({
    "/example.org/csv/mid.csv": chunked(cut),
    "/example.org/csv/short.csv": chunked(CSV.slice(0, CSV.indexOf("c.jpg"))),
  });
  try {
    await withTemp(async (dir) => {
      const names = ["mid", "short"];
      const report = await runDownload({
        ...quiet,
        dir,
        catalog: names.map((n) => ({ ...entry(n, "https://example.org/none.zip", 1) })),
        annotationCsvs: names.map((n) => csvSpec(n, 3)),
        only: [],
        baseUrlOverride: srv.base,
        log: () => {},
      });
      const [mid, short] = report.csvErrors;
      assert.match(mid, /mid\.csv, line 3: 1 of the header's 2 fields \(a row cut short/);
      assert.match(short, /short\.csv: 2 data rows, but the study's short\.csv has 3/);
      assert.equal(await exists(`${dir}/csv/mid.csv`), false);
      assert.equal(await exists(`${dir}/csv/short.csv`), false);
      // A refused file leaves no lock entry behind to hold later downloads to.
      if (await exists(`${dir}/${LOCK_FILE}`)) {
        assert.equal((await lockOf(dir))["csv/mid.csv"], undefined);
      }
      assert.equal(report.ok, false);
    });
  } finally {
    await srv.close();
  }
});

Deno.test("figshare's published size and MD5 are checked", async () => {
  const zip = zipSync({ "imgs/a.jpg": await bands(20, 20) });
  const md5 = createHash("md5").update(zip).digest("hex");
  let published = md5;
  const srv = serve({
    "/ndownloader.figshare.com/files/7": { body: zip },
    "/api.figshare.com/v2/articles/5/files/7": () =>
      Response.json({ id: 7, size: zip.length, computed_md5: published }),
    "/example.org/csv/f.csv": { body: "image_name,target\na.jpg,0\n" },
  });
  try {
    await withTemp(async (dir) => {
      const run = () =>
        runDownload({
          ...quiet,
          dir,
          imageSize: 8,
          catalog: [
            entry("f", "https://ndownloader.figshare.com/files/7", 1, {
              figshare: { article: 5, file: 7 },
            }),
          ],
          annotationCsvs: [csvSpec("f")],
          baseUrlOverride: srv.base,
          log: () => {},
        });
      assert.equal((await run()).ok, true);
      await Deno.remove(`${dir}/raw_images/f.zip`);
      await Deno.remove(`${dir}/${LOCK_FILE}`);
      await Deno.remove(`${dir}/images`, { recursive: true });
      published = "0".repeat(32);
      const bad = await run();
      assert.equal(bad.ok, false);
      assert.match(
        bad.rows[0].status,
        /expected MD5 0{32}, got [0-9a-f]{32} \(expected values from figshare's API/,
      );
      assert.equal(await exists(`${dir}/raw_images/f.zip`), false);
    });
  } finally {
    await srv.close();
  }
});

/** Flips one byte inside the stored data of an entry, so its CRC no longer matches. */
function damageEntry(zip: Uint8Array, content: Uint8Array): Uint8Array {
  const out = zip.slice();
  for (let i = 0; i + content.length <= out.length; i++) {
    if (content.every((b, k) => out[i + k] === b)) {
      out[i + 3] ^= 0x55;
      return out;
    }
  }
  throw new Error("entry data not found");
}

Deno.test("a new archive's CRCs are checked: a damaged entry fails the dataset and the archive goes", async () => {
  const notes = new TextEncoder().encode("notes that no preprocessing step ever reads");
  const zip = damageEntry(
    zipSync({ "imgs/a.jpg": await bands(20, 20), "notes.txt": notes }, { level: 0 }),
    notes,
  );
  const srv = serve({
    "/example.org/files/d.zip": { body: zip },
    "/example.org/csv/d.csv": { body: "image_name,target\na.jpg,0\n" },
  });
  try {
    await withTemp(async (dir) => {
      const report = await runDownload({
        ...quiet,
        dir,
        imageSize: 8,
        catalog: [entry("d", "https://example.org/files/d.zip", 1)],
        annotationCsvs: [csvSpec("d")],
        baseUrlOverride: srv.base,
        log: () => {},
      });
      assert.equal(report.rows[0].ok, false);
      assert.match(
        report.rows[0].status,
        /d\.zip: entry "notes\.txt": CRC or size mismatch.*the archive was removed/,
      );
      assert.equal(await exists(`${dir}/raw_images/d.zip`), false);
      assert.equal((await lockOf(dir))["raw_images/d.zip"], undefined);
    });
  } finally {
    await srv.close();
  }
});

Deno.test("two different images of one name fail naming both; identical copies collapse; incomplete fails unless allowed", async () => {
  const x1 = await bands(20, 20);
  const x2 = await bands(30, 20);
  const srv = serve({
    "/example.org/files/clash.zip": {
      body: zipSync({ "imgs/a/x.jpg": x1, "imgs/b/x.jpg": x2, "imgs/y.jpg": x1 }),
    },
    "/example.org/files/same.zip": {
      body: zipSync({ "imgs/a/x.jpg": x1, "imgs/b/x.jpg": x1, "imgs/y.jpg": x2 }),
    },
    "/example.org/csv/clash.csv": { body: "image_name,target\nx.jpg,0\n" },
    "/example.org/csv/same.csv": { body: "image_name,target\nx.jpg,0\n" },
  });
  try {
    await withTemp(async (dir) => {
      const run = (allowIncomplete: boolean, only: string) =>
        runDownload({
          ...quiet,
          dir,
          imageSize: 8,
          only: [only],
          allowIncomplete,
          catalog: [
            entry("clash", "https://example.org/files/clash.zip", 3),
            entry("same", "https://example.org/files/same.zip", 3),
          ],
          annotationCsvs: [csvSpec("clash"), csvSpec("same")],
          baseUrlOverride: srv.base,
          log: () => {},
        });
      const refused = await run(false, "clash");
      assert.equal(refused.ok, false);
      assert.match(
        refused.rows[0].status,
        /"imgs\/a\/x\.jpg" and "imgs\/b\/x\.jpg" are different images that would both be saved as x\.jpg/,
      );
      const allowed = await run(true, "clash");
      assert.deepEqual(allowed.rows[0], {
        dataset: "clash",
        found: 2,
        expected: 3,
        status: "incomplete (1 dropped (name taken))",
        ok: true,
      });
      // Identical copies are one image; 2 of the 3 expected is incomplete: a failure...
      const same = await run(false, "same");
      assert.equal(same.rows[0].status, "incomplete");
      assert.equal(same.rows[0].ok, false);
      assert.equal(same.ok, false);
      // ...also on a rerun that finds the dataset done, unless the user allows it.
      assert.equal((await run(false, "same")).rows[0].ok, false);
      assert.equal((await run(true, "same")).rows[0].ok, true);
    });
  } finally {
    await srv.close();
  }
});
