/**
 * Streaming HTTP downloads that survive interruptions.
 *
 * Bytes go to `<dest>.partial`; a dropped connection is resumed with
 * `Range: bytes=N-` (206 appends, 200 restarts), and the file is renamed into
 * place only after its size and checksums (sha256, and MD5 where a host
 * publishes one) check out and it is flushed to disk, so a file at `dest` is
 * always complete. Credentials travel in headers, only to the origin they
 * were meant for, and never appear in messages: URLs are redacted first.
 * Google Drive and Kaggle specifics live in data/download-sources.ts.
 */
import { createHash } from "node:crypto";
import { ProgressBar } from "./progress.ts";

/** Network plumbing shared by every download; injectable so tests run offline. */
export interface HttpContext {
  fetch?: typeof fetch;
  /** Maps a URL before it is fetched (tests point every host at a local server). */
  rewriteUrl?: (url: string) => string;
  /** Extra attempts after a failed or cut-off transfer. */
  retries?: number;
  /** Base wait between attempts, multiplied by the attempt number. */
  retryDelayMs?: number;
  /** Show a progress bar per file. */
  progress?: boolean;
  /** Where the progress bar writes (defaults to stdout). */
  progressWrite?: (text: string) => void;
}

/** What to fetch and how to check it. */
export interface DownloadRequest {
  url: string;
  dest: string;
  sha256?: string;
  /** MD5 the host publishes (figshare's API does); checked like the sha256. */
  md5?: string;
  size?: number;
  /** Where the expected checksums come from, for the mismatch message (e.g. the lock file). */
  checksumSource?: string;
  /** Sent on every hop to the origin of `url` and never to another (redirect targets). */
  authHeaders?: Record<string, string>;
  /** Sent on every hop. */
  headers?: Record<string, string>;
  /** Fail when the server answers with an HTML page (login or quota pages). */
  rejectHtml?: boolean;
  label?: string;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** True when `dest` was already complete and nothing was fetched. */
  skipped: boolean;
  /** True when the transfer continued an interrupted one with a Range request. */
  resumed: boolean;
  /** The file's sha256 (hex), checked against `sha256` when one was given. */
  sha256: string;
}

const SECRET_PARAM = /sig|token|key|auth|cred|secret|password|expires|policy/i;

/** The URL with user info and secret-looking query values replaced by "***". */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = "***";
      u.password = "";
    }
    for (const name of [...u.searchParams.keys()]) {
      if (SECRET_PARAM.test(name)) u.searchParams.set(name, "***");
    }
    return u.href;
  } catch {
    return url.replace(/\?.*$/, "?***");
  }
}

/** An error from a transfer that may succeed when tried again. */
class RetryableError extends Error {}

/** A rewrite that sends every host to `base` as `<base>/<host><path>` (used for tests). */
export function baseUrlRewriter(base: string): (url: string) => string {
  const trimmed = base.replace(/\/+$/, "");
  return (url: string) => {
    if (url.startsWith(trimmed + "/")) return url;
    const u = new URL(url);
    return `${trimmed}/${u.host}${u.pathname}${u.search}`;
  };
}

/**
 * Fetches with redirects followed by hand, so auth headers never leave their
 * origin; network errors name the (redacted) URL.
 */
export async function request(
  url: string,
  headers: Record<string, string>,
  auth: Record<string, string> | undefined,
  ctx: HttpContext,
): Promise<{ res: Response; url: string }> {
  const doFetch = ctx.fetch ?? fetch;
  const rewrite = ctx.rewriteUrl ?? ((u: string) => u);
  let target = rewrite(url);
  const authOrigin = new URL(target).origin;
  for (let hop = 0; hop < 10; hop++) {
    const h = new Headers(headers);
    if (auth && new URL(target).origin === authOrigin) {
      for (const [k, v] of Object.entries(auth)) h.set(k, v);
    }
    let res: Response;
    try {
      res = await doFetch(target, { headers: h, redirect: "manual" });
    } catch (err) {
      throw new RetryableError(`cannot reach ${redactUrl(target)}: ${(err as Error).message}`);
    }
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      target = rewrite(new URL(location, target).href);
      continue;
    }
    return { res, url: target };
  }
  throw new Error(`too many redirects starting at ${redactUrl(url)}`);
}

function parseContentRange(value: string | null): { start: number; total?: number } | undefined {
  const m = value?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === "*" ? undefined : Number(m[3]) };
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function removeIfPresent(path: string): Promise<void> {
  await Deno.remove(path).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

/** Streams a file through sha256 (hex), without loading it whole. */
export async function sha256File(path: string): Promise<string> {
  return (await hashFile(path)).sha256;
}

/** sha256 and MD5 (hex) of a file in one streaming pass. */
export async function hashFile(path: string): Promise<{ sha256: string; md5: string }> {
  const sha = createHash("sha256");
  const md5 = createHash("md5");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    sha.update(chunk);
    md5.update(chunk);
  }
  return { sha256: sha.digest("hex"), md5: md5.digest("hex") };
}

/** The first expected checksum `hashes` do not match, or undefined when all match. */
function checksumMismatch(
  req: DownloadRequest,
  hashes: { sha256: string; md5: string },
): string | undefined {
  if (req.sha256 && hashes.sha256 !== req.sha256.toLowerCase()) {
    return `expected sha256 ${req.sha256}, got ${hashes.sha256}`;
  }
  if (req.md5 && hashes.md5 !== req.md5.toLowerCase()) {
    return `expected MD5 ${req.md5}, got ${hashes.md5}`;
  }
  return undefined;
}

/** Flushes a finished download to disk before it is renamed into place. */
async function syncFile(path: string): Promise<void> {
  using file = await Deno.open(path, { read: true, write: true });
  await file.sync();
}

/** Streams one response body into the partial file; returns the new length. */
async function streamBody(
  res: Response,
  partial: string,
  append: boolean,
  offset: number,
  bar: ProgressBar | undefined,
): Promise<number> {
  using file = await Deno.open(partial, {
    write: true,
    create: true,
    append,
    truncate: !append,
  });
  let written = offset;
  if (!res.body) return written;
  try {
    for await (const chunk of res.body) {
      let done = 0;
      while (done < chunk.length) done += await file.write(chunk.subarray(done));
      written += chunk.length;
      bar?.update(written);
    }
  } catch (err) {
    throw new RetryableError(`connection lost after ${written} bytes: ${(err as Error).message}`);
  }
  return written;
}

interface AttemptState {
  total?: number;
  bar?: ProgressBar;
  resumed?: boolean;
}

/** One transfer attempt from `offset`; returns the length on disk and the expected total. */
async function attempt(
  req: DownloadRequest,
  partial: string,
  offset: number,
  ctx: HttpContext,
  state: AttemptState,
): Promise<number> {
  const headers: Record<string, string> = {
    "user-agent": "skin-deep-unlearning-toolkit",
    ...req.headers,
  };
  if (offset > 0) headers["range"] = `bytes=${offset}-`;
  const { res, url } = await request(req.url, headers, req.authHeaders, ctx);
  const where = redactUrl(url);
  if (res.status === 416 && offset > 0) {
    await res.body?.cancel();
    const total = parseContentRange(res.headers.get("content-range"))?.total;
    if (total === offset) return offset;
    await Deno.truncate(partial, 0);
    throw new RetryableError(`server refused to resume ${where} at byte ${offset}; restarting`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    const message = `HTTP ${res.status} ${res.statusText} from ${where}`;
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      throw new RetryableError(message);
    }
    throw new Error(message);
  }
  if (req.rejectHtml && (res.headers.get("content-type") ?? "").includes("text/html")) {
    await res.body?.cancel();
    throw new Error(`expected a file but ${where} sent an HTML page (login or quota page?)`);
  }
  const length = Number(res.headers.get("content-length") ?? NaN);
  let append = false;
  if (res.status === 206) {
    const range = parseContentRange(res.headers.get("content-range"));
    if (!range || range.start !== offset) {
      await res.body?.cancel();
      await Deno.truncate(partial, 0);
      throw new RetryableError(`unexpected Content-Range from ${where}; restarting`);
    }
    append = true;
    state.resumed = true;
    state.total = range.total ?? (Number.isFinite(length) ? offset + length : state.total);
  } else {
    offset = 0;
    if (Number.isFinite(length)) state.total = length;
  }
  if (ctx.progress && !state.bar) {
    state.bar = new ProgressBar({
      label: req.label ?? req.dest,
      total: state.total ?? req.size,
      start: offset,
      unit: "bytes",
      write: ctx.progressWrite,
    });
  } else if (state.bar) {
    state.bar.total = state.total ?? state.bar.total;
  }
  const written = await streamBody(res, partial, append, offset, state.bar);
  if (state.total !== undefined && written < state.total) {
    throw new RetryableError(`${where} ended after ${written} of ${state.total} bytes`);
  }
  return written;
}

/**
 * Downloads `req.url` to `req.dest`, resuming an earlier `.partial` file, and
 * verifies size and sha256 when given. A verification failure removes the
 * partial file and throws naming the file; a network failure keeps it for the
 * next run and throws naming the (redacted) URL.
 */
export async function downloadFile(
  req: DownloadRequest,
  ctx: HttpContext = {},
): Promise<DownloadResult> {
  const partial = `${req.dest}.partial`;
  const existing = await fileSize(req.dest);
  if (existing !== undefined) {
    const sizeOk = req.size === undefined || existing === req.size;
    const hashes = sizeOk ? await hashFile(req.dest) : undefined;
    if (hashes && !checksumMismatch(req, hashes)) {
      const done = { path: req.dest, bytes: existing, skipped: true, resumed: false };
      return { ...done, sha256: hashes.sha256 };
    }
    // A changed or damaged local copy: fetched again, and checked against the same checksums.
    await Deno.remove(req.dest);
  }
  let offset = (await fileSize(partial)) ?? 0;
  const retries = ctx.retries ?? 5;
  const state: AttemptState = { total: req.size };
  // Failures in a row; a transfer that made progress before dropping resets the count.
  let failures = 0;
  while (true) {
    const before = offset;
    try {
      offset = await attempt(req, partial, offset, ctx, state);
      break;
    } catch (err) {
      offset = (await fileSize(partial)) ?? 0;
      failures = offset > before ? 1 : failures + 1;
      if (!(err instanceof RetryableError) || failures > retries) {
        state.bar?.finish("failed");
        const safeUrl = redactUrl(req.url);
        throw new Error(`download of ${safeUrl} failed: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, (ctx.retryDelayMs ?? 1000) * failures));
    }
  }
  state.bar?.finish("done");
  const name = req.dest.split(/[\\/]/).pop();
  if (req.size !== undefined && offset !== req.size) {
    await removeIfPresent(partial);
    throw new Error(`size mismatch for ${name}: expected ${req.size} bytes, got ${offset}`);
  }
  const hashes = await hashFile(partial);
  const mismatch = checksumMismatch(req, hashes);
  if (mismatch) {
    await removeIfPresent(partial);
    const source = req.checksumSource ? ` (expected values from ${req.checksumSource})` : "";
    throw new Error(
      `checksum mismatch for ${name} (from ${redactUrl(req.url)}): ${mismatch}${source}; ` +
        `the file was removed`,
    );
  }
  await syncFile(partial);
  await Deno.rename(partial, req.dest);
  return {
    path: req.dest,
    bytes: offset,
    skipped: false,
    resumed: state.resumed === true,
    sha256: hashes.sha256,
  };
}
