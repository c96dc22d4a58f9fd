/**
 * Where a dataset's raw bytes come from: archives over HTTP, Google Drive
 * (through its large-file confirmation page) or Kaggle (API token in a
 * header, never printed), manual archives the user drops in place, and
 * per-image URL lists. Used by data/download-command.ts.
 */
import { join, resolve } from "node:path";
import type { DatasetEntry, DatasetSource, HttpSource, UrlListSource } from "./catalog.ts";
import { parseCsv, requireColumns } from "./csv.ts";
import { checkRecorded, type DownloadLock, lockedDownload } from "./download-lock.ts";
import { type HttpContext, redactUrl, request } from "./http-download.ts";
import { ProgressBar } from "./progress.ts";

/** What acquiring a source needs from the download command. */
export interface SourceContext {
  dir: string;
  http: HttpContext;
  /** The sha256 of every file fetched so far (data/download-lock.ts). */
  lock: DownloadLock;
  env: { get(name: string): string | undefined };
  log: (line: string) => void;
  progress: boolean;
  progressWrite?: (text: string) => void;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

/** A short, secret-free description of a source for messages. */
export function describe(source: DatasetSource): string {
  switch (source.kind) {
    case "http":
      return source.url;
    case "gdrive":
      return `Google Drive ${source.id}`;
    case "kaggle":
      return `Kaggle ${source.dataset}`;
    case "manual":
      return `manual ${source.archive}`;
    case "url-list":
      return source.csvUrl;
    case "local-folder":
      return `folder from ${source.envVar}`;
  }
}

export type ArchiveSource = Extract<DatasetSource, { archive: string }>;

/** An archive on disk; `firstSeen` when this run recorded it (so its CRCs get checked). */
export interface ObtainedArchive {
  path: string;
  source: ArchiveSource;
  firstSeen: boolean;
}

/**
 * Finds or downloads the entry's archive; `missing` lists what the user must do. An archive
 * already on disk is held to its lock entry: a downloadable one that changed is fetched again,
 * a manual one that changed is an error.
 */
export async function obtainArchive(
  entry: DatasetEntry,
  ctx: SourceContext,
): Promise<ObtainedArchive | { missing: string[] }> {
  const raw = join(ctx.dir, "raw_images");
  const sources = entry.sources.filter((s): s is ArchiveSource => "archive" in s);
  for (const source of sources) {
    const path = join(raw, source.archive);
    if (!(await exists(path))) continue;
    const known = ctx.lock.get(path);
    const state = await checkRecorded(path, ctx.lock, describe(source));
    if (state !== "changed") return { path, source, firstSeen: state === "first-seen" };
    if (source.kind === "manual") {
      throw new Error(
        `${resolve(path)} is not the file recorded ${known?.recorded} in ${ctx.lock.path} ` +
          `(sha256 ${known?.sha256}); restore it, or delete its entry there to accept it`,
      );
    }
    ctx.log(`  ${path} changed since it was recorded ${known?.recorded}; fetching it again`);
    await Deno.remove(path);
  }
  const problems: string[] = [];
  for (const source of sources) {
    const dest = join(raw, source.archive);
    const label = `${entry.name} ${source.archive}`;
    try {
      if (source.kind === "manual") {
        problems.push(
          `${entry.title} needs a manual download: ${source.instructions} and put it at ` +
            resolve(dest),
        );
        continue;
      }
      const get = (req: Parameters<typeof lockedDownload>[0]) =>
        lockedDownload(req, ctx.lock, ctx.http, ctx.log);
      if (source.kind === "http") {
        const { url, sha256, size } = source;
        const published = source.figshare ? await figshareFileInfo(source, ctx) : {};
        await get({ url, dest, sha256, size, ...published, label, rejectHtml: true });
      } else if (source.kind === "gdrive") {
        const { url, headers } = await resolveGoogleDrive(source.id, ctx.http);
        const { sha256, size } = source;
        await get({ url, headers, dest, sha256, size, label, rejectHtml: true });
      } else {
        const creds = await findKaggleCredentials(ctx.env);
        if (!creds) {
          problems.push(
            `Kaggle source ${source.dataset} skipped: it needs KAGGLE_USERNAME and KAGGLE_KEY ` +
              `or ~/.kaggle/kaggle.json (an API token from your Kaggle account settings)`,
          );
          continue;
        }
        ctx.log(`  using Kaggle credentials from ${creds.where}`);
        const { url, authHeaders } = kaggleDownload(source.dataset, creds);
        await get({ url, authHeaders, dest, label, rejectHtml: true });
      }
      return { path: dest, source, firstSeen: true };
    } catch (err) {
      problems.push(`${describe(source)}: ${(err as Error).message}`);
      ctx.log(`  ${entry.name}: ${describe(source)} failed: ${(err as Error).message}`);
    }
  }
  if (sources.every((s) => s.kind === "manual")) return { missing: problems };
  throw new Error(problems.join("; ") || "no usable source");
}

/** Downloads every image of a URL list into raw_images/<folder>/; returns per-image failures. */
export async function fetchUrlList(source: UrlListSource, entry: DatasetEntry, ctx: SourceContext) {
  const csvPath = join(ctx.dir, "csv", source.csvFile);
  await lockedDownload(
    { url: source.csvUrl, dest: csvPath, label: source.csvFile },
    ctx.lock,
    ctx.http,
    ctx.log,
  );
  const rows = parseCsv(await Deno.readTextFile(csvPath), csvPath);
  requireColumns(rows, [source.urlColumn, source.nameColumn], csvPath);
  const rawDir = join(ctx.dir, "raw_images", entry.folder);
  await Deno.mkdir(rawDir, { recursive: true });
  const failed: string[] = [];
  const bar = ctx.progress
    ? new ProgressBar({
      label: `${entry.name} fetch`,
      total: rows.length,
      itemName: "img",
      write: ctx.progressWrite,
    })
    : undefined;
  let next = 0;
  const lane = async () => {
    while (next < rows.length) {
      const row = rows[next++];
      const name = `${row[source.nameColumn]}${source.extension}`;
      try {
        if (!row[source.urlColumn]) throw new Error("no URL in the CSV");
        await lockedDownload(
          { url: row[source.urlColumn], dest: join(rawDir, name), rejectHtml: true },
          ctx.lock,
          { ...ctx.http, progress: false, retries: Math.min(1, ctx.http.retries ?? 1) },
          ctx.log,
        );
      } catch (err) {
        failed.push(`${name}: ${(err as Error).message}`);
      }
      bar?.increment();
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  bar?.finish();
  if (failed.length > 0) ctx.log(`  ${entry.name}: ${failed.length} images could not be fetched`);
  return { rawDir, failed };
}

/**
 * The size and MD5 figshare publishes for a file (its public API), to check the download
 * against. When the API cannot be reached or says nothing usable, the download goes ahead
 * held to the archive's CRCs and the lock file alone, and the log says so.
 */
export async function figshareFileInfo(
  source: HttpSource,
  ctx: SourceContext,
): Promise<{ size?: number; md5?: string; checksumSource?: string }> {
  const { article, file } = source.figshare!;
  const url = `https://api.figshare.com/v2/articles/${article}/files/${file}`;
  try {
    const { res } = await request(url, { accept: "application/json" }, undefined, ctx.http);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const info = await res.json() as { size?: unknown; computed_md5?: unknown };
    const size = Number.isSafeInteger(info.size) ? info.size as number : undefined;
    const md5 = typeof info.computed_md5 === "string" && /^[0-9a-f]{32}$/i.test(info.computed_md5)
      ? info.computed_md5
      : undefined;
    if (size === undefined && md5 === undefined) throw new Error("no size or MD5 in the answer");
    return { size: source.size ?? size, md5, checksumSource: `figshare's API (${url})` };
  } catch (err) {
    ctx.log(
      `  figshare file ${file}: no published size/MD5 (${(err as Error).message}); relying on ` +
        `the archive's CRCs and the lock file`,
    );
    return {};
  }
}

function htmlUnescape(s: string): string {
  return s.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'");
}

/**
 * Finds the real download link on Google Drive's "can't scan this file for
 * viruses" page: the download form (current Drive), a `confirm=` link, or the
 * `download_warning` cookie (older Drive).
 */
export function parseDriveConfirmation(
  html: string,
  id: string,
  pageUrl: string,
  setCookie: string | null,
): { url: string; headers: Record<string, string> } | undefined {
  const form = html.match(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i);
  if (form && /download/i.test(form[1])) {
    const action = new URL(htmlUnescape(form[1]), pageUrl);
    for (const input of form[2].matchAll(/<input[^>]*>/gi)) {
      const name = input[0].match(/name="([^"]*)"/i)?.[1];
      const value = input[0].match(/value="([^"]*)"/i)?.[1];
      if (name && value !== undefined && /type="hidden"/i.test(input[0])) {
        action.searchParams.set(name, htmlUnescape(value));
      }
    }
    return { url: action.href, headers: {} };
  }
  const link = html.match(/href="([^"]*confirm=[^"]*)"/i);
  if (link) return { url: new URL(htmlUnescape(link[1]), pageUrl).href, headers: {} };
  const cookie = setCookie?.match(/(download_warning[^=]*)=([^;,\s]+)/);
  if (cookie) {
    const url = new URL("/uc", pageUrl);
    url.search = new URLSearchParams({ export: "download", confirm: cookie[2], id }).toString();
    return { url: url.href, headers: { cookie: `${cookie[1]}=${cookie[2]}` } };
  }
  return undefined;
}

/** Turns a Drive file id into a URL that serves the file itself (plus any cookie it needs). */
export async function resolveGoogleDrive(
  id: string,
  ctx: HttpContext = {},
): Promise<{ url: string; headers: Record<string, string> }> {
  const url = `https://drive.google.com/uc?export=download&id=${encodeURIComponent(id)}`;
  let answer: { res: Response; url: string };
  try {
    answer = await request(url, {}, undefined, ctx);
  } catch (err) {
    throw new Error(`Google Drive file ${id}: ${(err as Error).message}`);
  }
  const { res, url: pageUrl } = answer;
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Google Drive file ${id}: HTTP ${res.status} from ${redactUrl(pageUrl)}`);
  }
  if (!(res.headers.get("content-type") ?? "").includes("text/html")) {
    await res.body?.cancel();
    return { url, headers: {} };
  }
  const html = await res.text();
  const found = parseDriveConfirmation(html, id, pageUrl, res.headers.get("set-cookie"));
  if (found) return found;
  if (/quota|too many users/i.test(html)) {
    throw new Error(
      `Google Drive refuses file ${id} for now (download quota exceeded); ` +
        `try later or use the Kaggle source`,
    );
  }
  throw new Error(`Google Drive sent a page without a download link for file ${id}`);
}

/** Kaggle API credentials; `where` says where they came from (never the secret). */
export interface KaggleCredentials {
  username: string;
  key: string;
  where: string;
}

/**
 * Reads Kaggle credentials from KAGGLE_USERNAME/KAGGLE_KEY or
 * `$KAGGLE_CONFIG_DIR/kaggle.json` (default `~/.kaggle/kaggle.json`).
 */
export async function findKaggleCredentials(
  env: { get(name: string): string | undefined } = Deno.env,
): Promise<KaggleCredentials | undefined> {
  const username = env.get("KAGGLE_USERNAME");
  const key = env.get("KAGGLE_KEY");
  if (username && key) return { username, key, where: "KAGGLE_USERNAME/KAGGLE_KEY" };
  const home = env.get("HOME") ?? env.get("USERPROFILE");
  const dir = env.get("KAGGLE_CONFIG_DIR") ?? (home ? `${home}/.kaggle` : undefined);
  if (!dir) return undefined;
  const path = `${dir}/kaggle.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { username?: unknown; key?: unknown };
    if (typeof parsed.username === "string" && typeof parsed.key === "string") {
      return { username: parsed.username, key: parsed.key, where: path };
    }
  } catch {
    // Falls through to the error below, which does not echo the file's content.
  }
  throw new Error(`${path} is not a kaggle.json with "username" and "key" fields`);
}

/** The download request for a Kaggle dataset ("owner/slug"), authenticated by header. */
export function kaggleDownload(
  dataset: string,
  creds: KaggleCredentials,
): { url: string; authHeaders: Record<string, string> } {
  const token = btoa(`${creds.username}:${creds.key}`);
  return {
    url: `https://www.kaggle.com/api/v1/datasets/download/${dataset}`,
    authHeaders: { authorization: `Basic ${token}` },
  };
}
