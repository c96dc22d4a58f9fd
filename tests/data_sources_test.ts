import assert from "node:assert/strict";
import { CATALOG, imageFolder, selectDatasets } from "../data/catalog.ts";
import { runDownload } from "../data/download-command.ts";
import { baseUrlRewriter, downloadFile, redactUrl } from "../data/http-download.ts";
import {
  findKaggleCredentials,
  kaggleDownload,
  parseDriveConfirmation,
  resolveGoogleDrive,
} from "../data/download-sources.ts";
import { centreCropBox, cropResizeRgba } from "../data/preprocess.ts";
import { ProgressBar } from "../data/progress.ts";
import { bytes, serve, withTemp } from "./support/data-server.ts";

const quiet = { progress: false, workers: 2, retryDelayMs: 5 };

Deno.test("Google Drive's confirmation page is followed to the file", async () => {
  const file = bytes(4096, 11);
  const srv = serve({
    "/drive.google.com/uc": () =>
      new Response(
        `<html><form id="download-form" action="https://drive.usercontent.google.com/download" method="get">
         <input type="hidden" name="id" value="FILEID"><input type="hidden" name="export" value="download">
         <input type="hidden" name="confirm" value="t"><input type="hidden" name="uuid" value="u-1">
         <input type="submit" value="Download anyway"></form></html>`,
        { headers: { "content-type": "text/html; charset=utf-8" } },
      ),
    "/drive.usercontent.google.com/download": (req) => {
      const q = new URL(req.url).searchParams;
      const ok = q.get("id") === "FILEID" && q.get("confirm") === "t" && q.get("uuid") === "u-1";
      return ok ? new Response(file) : new Response("<html>no</html>", { status: 403 });
    },
  });
  try {
    await withTemp(async (dir) => {
      const ctx = { rewriteUrl: baseUrlRewriter(srv.base) };
      const { url, headers } = await resolveGoogleDrive("FILEID", ctx);
      await downloadFile({ url, headers, dest: `${dir}/d.zip`, rejectHtml: true }, ctx);
      assert.deepEqual(await Deno.readFile(`${dir}/d.zip`), file);
    });
  } finally {
    await srv.close();
  }
  const page = "https://drive.google.com/uc?export=download&id=X";
  assert.equal(
    parseDriveConfirmation(
      '<a href="/uc?export=download&amp;confirm=AbC&amp;id=X">',
      "X",
      page,
      null,
    )?.url,
    "https://drive.google.com/uc?export=download&confirm=AbC&id=X",
  );
  const viaCookie = parseDriveConfirmation(
    "<html></html>",
    "X",
    page,
    "download_warning_1=tok; Path=/",
  );
  assert.equal(viaCookie?.url, "https://drive.google.com/uc?export=download&confirm=tok&id=X");
  assert.equal(viaCookie?.headers.cookie, "download_warning_1=tok");
});

Deno.test("Kaggle: token only to kaggle.com, never in messages; credentials from env or kaggle.json", async () => {
  const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
  const creds = await findKaggleCredentials(env({ KAGGLE_USERNAME: "me", KAGGLE_KEY: "s3cr3t" }));
  assert.equal(creds?.where, "KAGGLE_USERNAME/KAGGLE_KEY");
  const seen: { url: string; auth: string | null }[] = [];
  let storageStatus = 200;
  const fakeFetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    seen.push({ url, auth: new Headers(init?.headers).get("authorization") });
    if (url.startsWith("https://www.kaggle.com/")) {
      return Promise.resolve(
        new Response(null, {
          status: 302,
          headers: { location: "https://storage.example.com/f.zip?X-Goog-Signature=sig123" },
        }),
      );
    }
    return Promise.resolve(
      new Response(storageStatus === 200 ? "zipdata" : "no", { status: storageStatus }),
    );
  };
  await withTemp(async (dir) => {
    const { url, authHeaders } = kaggleDownload("owner/set", creds!);
    await downloadFile({ url, authHeaders, dest: `${dir}/k.zip` }, {
      fetch: fakeFetch as typeof fetch,
    });
    assert.equal(await Deno.readTextFile(`${dir}/k.zip`), "zipdata");
    assert.equal(seen[0].url, "https://www.kaggle.com/api/v1/datasets/download/owner/set");
    assert.equal(seen[0].auth, `Basic ${btoa("me:s3cr3t")}`);
    assert.equal(seen[1].auth, null);
    storageStatus = 403;
    const err = await downloadFile(
      { url, authHeaders, dest: `${dir}/k2.zip` },
      { fetch: fakeFetch as typeof fetch, retries: 0 },
    ).catch((e: Error) => e);
    assert.ok(err instanceof Error && err.message.includes("HTTP 403"));
    assert.ok(!err.message.includes("s3cr3t") && !err.message.includes("sig123"), err.message);
    assert.equal(redactUrl("https://u:p@h/x?sig=1&a=2"), "https://***@h/x?sig=***&a=2");

    await Deno.writeTextFile(`${dir}/kaggle.json`, '{"username":"j","key":"k"}');
    const fromFile = await findKaggleCredentials(env({ KAGGLE_CONFIG_DIR: dir }));
    assert.deepEqual(fromFile, { username: "j", key: "k", where: `${dir}/kaggle.json` });
    assert.equal(await findKaggleCredentials(env({ KAGGLE_CONFIG_DIR: `${dir}/none` })), undefined);
    await Deno.writeTextFile(`${dir}/kaggle.json`, "{secretstuff");
    await assert.rejects(
      () => findKaggleCredentials(env({ KAGGLE_CONFIG_DIR: dir })),
      (e: Error) => e.message.includes("kaggle.json") && !e.message.includes("secretstuff"),
    );
  });
  // The real catalog says how to get the Kaggle token when it is missing.
  await withTemp(async (dir) => {
    const lines: string[] = [];
    const isic = CATALOG.find((e) => e.name === "isic20")!;
    const kaggleOnly = {
      ...isic,
      sources: isic.sources.filter((s) => s.kind === "kaggle"),
      csvs: [],
    };
    const report = await runDownload({
      ...quiet,
      dir,
      catalog: [kaggleOnly],
      env: env({ HOME: dir }),
      log: (l) => lines.push(l),
    });
    assert.match(report.rows[0].status, /KAGGLE_USERNAME and KAGGLE_KEY/);
  });
});

Deno.test("catalog lists the study's datasets; --only checks names", () => {
  const names = CATALOG.map((e) => e.name);
  assert.deepEqual(names, [
    "isic20",
    "isic19",
    "atlas",
    "asan",
    "mclassd",
    "mclassc",
    "fitzpatrick17k",
    "heidelberg",
  ]);
  const isic20 = CATALOG.find((e) => e.name === "isic20")!;
  assert.equal(isic20.expectedImages, 33126);
  assert.equal(imageFolder(isic20, 256), "./data/images/isic_20_train_256");
  assert.ok(CATALOG.every((e) => e.licence.length > 0 && e.sources.length > 0));
  assert.deepEqual(selectDatasets(CATALOG, ["MClassD,asan"]).map((e) => e.name), [
    "asan",
    "mclassd",
  ]);
  assert.throws(
    () => selectDatasets(CATALOG, ["isic21"]),
    /unknown dataset\(s\) "isic21"; known: isic20/,
  );
});

Deno.test("centre crop box and area-average resize", () => {
  assert.deepEqual(centreCropBox(60, 20), { x: 20, y: 0, side: 20 });
  assert.deepEqual(centreCropBox(20, 51), { x: 0, y: 15, side: 20 });
  // 4x4 checkerboard of 0/255 blocks (2x2 each) shrunk to 2x2 keeps block values; to 1x1 averages.
  const src = new Uint8Array(4 * 4 * 4);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) {
      const v = (Math.floor(x / 2) + Math.floor(y / 2)) % 2 ? 255 : 0;
      src.set([v, v, v, 255], (y * 4 + x) * 4);
    }
  }
  const two = cropResizeRgba(src, 4, { x: 0, y: 0, side: 4 }, 2);
  assert.deepEqual([two[0], two[4], two[8], two[12]], [0, 255, 255, 0]);
  const one = cropResizeRgba(src, 4, { x: 0, y: 0, side: 4 }, 1);
  assert.deepEqual([...one], [128, 128, 128, 255]);
});

Deno.test("progress bar: in-place redraws on a TTY, periodic lines otherwise", () => {
  let t = 0;
  const out: string[] = [];
  const bar = new ProgressBar({
    label: "imgs",
    total: 100,
    tty: false,
    write: (s) => out.push(s),
    now: () => t,
    lineIntervalMs: 2500,
  });
  for (let i = 1; i <= 100; i++) {
    t += 100;
    bar.update(i);
  }
  bar.finish("done");
  // 100 updates 100 ms apart: lines at 2.5 s, 5 s, 7.5 s, 10 s, plus the final one.
  assert.equal(out.length, 5);
  assert.ok(out.every((l) => l.endsWith("\n") && !l.includes("\r")));
  assert.equal(out[4], "imgs 100% 100/100 10.0 it/s ETA 0:00 done\n");
  const tty: string[] = [];
  t = 0;
  const b2 = new ProgressBar({
    label: "dl",
    total: 2048,
    unit: "bytes",
    tty: true,
    width: 4,
    write: (s) => tty.push(s),
    now: () => t,
  });
  t = 1000;
  b2.update(1024);
  assert.equal(tty[0], "\r\x1b[2Kdl [##--]  50% 1.0 KB/2.0 KB 1.0 KB/s ETA 0:01");
});
