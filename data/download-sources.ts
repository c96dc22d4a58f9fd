/**
 * Where a dataset's raw bytes come from: archives over HTTP, Google Drive
 * (through its large-file confirmation page) or Kaggle (API token in a
 * header, never printed), manual archives the user drops in place, and
 * per-image URL lists. Used by data/download-command.ts.
 */
import { join, resolve } from "node:path";
import type { DatasetEntry, DatasetSource, UrlListSource } from "./catalog.ts";
import { parseCsv, requireColumns } from "./csv.ts";
import { downloadFile, type HttpContext, redactUrl, request } from "./http-download.ts";
import { ProgressBar } from "./progress.ts";

/** What acquiring a source needs from the download command. */
export interface SourceContext {
  dir: string;
  http: HttpContext;
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

/** Finds or downloads the entry's archive; `missing` lists what the user must do. */
export async function obtainArchive(
  entry: DatasetEntry,
  ctx: SourceContext,
): Promise<{ path: string; source: ArchiveSource } | { missing: string[] }> {
  const raw = join(ctx.dir, "raw_images");
  const sources = entry.sources.filter((s): s is ArchiveSource => "archive" in s);
  for (const source of sources) {
    const path = join(raw, source.archive);
    if (await exists(path)) return { path, source };
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
      if (source.kind === "http") {
        const { url, sha256, size } = source;
        await downloadFile({ url, dest, sha256, size, label, rejectHtml: true }, ctx.http);
      } else if (source.kind === "gdrive") {
        const { url, headers } = await resolveGoogleDrive(source.id, ctx.http);
        const { sha256, size } = source;
        await downloadFile({ url, headers, dest, sha256, size, label, rejectHtml: true }, ctx.http);
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
        await downloadFile({ url, authHeaders, dest, label, rejectHtml: true }, ctx.http);
      }
      return { path: dest, source };
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
  await downloadFile({ url: source.csvUrl, dest: csvPath, label: source.csvFile }, ctx.http);
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
        await downloadFile(
          { url: row[source.urlColumn], dest: join(rawDir, name), rejectHtml: true },
          { ...ctx.http, progress: false, retries: Math.min(1, ctx.http.retries ?? 1) },
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
