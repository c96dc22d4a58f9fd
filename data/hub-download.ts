/**
 * Files from the Hugging Face hub (timm's ImageNet weights), cached and checked.
 *
 * A file is fetched once into the cache (nn/pretrained/source.ts says where) and then used
 * without the network: beside it a small JSON record keeps its sha256, size and the hub commit
 * it came from, and every later use re-hashes the file against that record, so a file damaged
 * on disk is noticed and fetched again. The checksum comes from the hub itself where it gives
 * one: a HEAD request on the file's resolve URL answers, for files stored in LFS, with
 * `X-Linked-Etag` (the sha256 of the content) and `X-Linked-Size`, as huggingface_hub reads
 * them; where it gives none (a plain mirror), the sha256 of the first download is recorded.
 * Transfers go through data/http-download.ts: a progress bar, resume with Range after an
 * interruption (the `.partial` file survives a killed run), size and sha256 checked before the
 * file is renamed into place.
 */

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { hubCachePath, type HubFile, hubFileUrl } from "../nn/pretrained/source.ts";
import { writeFileAtomic } from "../nn/safetensors.ts";
import { downloadFile, type HttpContext, redactUrl, sha256File } from "./http-download.ts";

/** What the hub says about a file before it is fetched. */
export interface HubFileMetadata {
  /** sha256 of the content (LFS files), lower-case hex. */
  sha256?: string;
  size?: number;
  /** The commit `revision` resolved to. */
  commit?: string;
}

/** The record kept beside a cached file. */
export interface HubCacheRecord {
  repo: string;
  file: string;
  revision: string;
  url: string;
  sha256: string;
  size: number;
  /** "hub": the hub's own checksum was checked; "first-download": computed when fetched. */
  checksum: "hub" | "first-download";
  commit?: string;
  fetched: string;
}

export interface HubFetchOptions extends HttpContext {
  /** The hub's base URL (see nn/pretrained/source.ts hubBaseUrl). */
  hubUrl: string;
  /** The cache folder (see nn/pretrained/source.ts cacheRoot). */
  cacheRoot: string;
  /** One line per notable step (cache hit, re-download, missing checksum). */
  log?: (line: string) => void;
}

export interface HubFetchResult {
  path: string;
  sha256: string;
  size: number;
  /** False when the cached file was used. */
  downloaded: boolean;
  /** True when the transfer continued an interrupted one. */
  resumed: boolean;
  record: HubCacheRecord;
}

const SHA256 = /^[0-9a-f]{64}$/;

function etagValue(value: string | null): string | undefined {
  return value?.trim().replace(/^W\//, "").replace(/^"|"$/g, "").toLowerCase() || undefined;
}

/**
 * HEAD on the file's URL, following only same-origin redirects (a renamed repo) and stopping at
 * the hop to the CDN, whose answer carries the LFS headers. A server that does not answer HEAD
 * (405/501) gives no metadata; other failures are errors naming the (redacted) URL.
 */
export async function hubFileMetadata(
  url: string,
  ctx: HttpContext = {},
): Promise<HubFileMetadata> {
  const doFetch = ctx.fetch ?? fetch;
  let target = url;
  for (let hop = 0; hop < 10; hop++) {
    let res: Response;
    try {
      res = await doFetch(target, {
        method: "HEAD",
        redirect: "manual",
        headers: { "user-agent": "skin-deep-unlearning-toolkit", "accept-encoding": "identity" },
      });
    } catch (err) {
      throw new Error(`cannot reach the hub at ${redactUrl(target)}: ${(err as Error).message}`);
    }
    await res.body?.cancel();
    const h = res.headers;
    const location = h.get("location");
    const redirect = res.status >= 300 && res.status < 400 && location;
    const linked = etagValue(h.get("x-linked-etag"));
    if (redirect && !linked) {
      const next = new URL(location, target);
      if (next.origin === new URL(target).origin) {
        target = next.href;
        continue;
      }
    }
    if (res.status === 405 || res.status === 501) return {};
    if (!redirect && !res.ok) throw hubError(res, target);
    const etag = linked ?? etagValue(h.get("etag"));
    const size = Number(h.get("x-linked-size") ?? (redirect ? NaN : h.get("content-length")));
    return {
      sha256: etag && SHA256.test(etag) ? etag : undefined,
      size: Number.isSafeInteger(size) && size > 0 ? size : undefined,
      commit: h.get("x-repo-commit") ?? undefined,
    };
  }
  throw new Error(`too many redirects from ${redactUrl(url)}`);
}

function hubError(res: Response, url: string): Error {
  const where = redactUrl(url);
  if (res.status === 404) {
    return new Error(`the hub has no such file: HTTP 404 from ${where} (repo, revision or name?)`);
  }
  if (res.status === 401 || res.status === 403) {
    return new Error(`the hub refused ${where} (HTTP ${res.status}): a private or gated repo?`);
  }
  return new Error(`HTTP ${res.status} ${res.statusText} from ${where}`);
}

async function readRecord(path: string): Promise<HubCacheRecord | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  try {
    const r = JSON.parse(text) as HubCacheRecord;
    if (typeof r.sha256 === "string" && SHA256.test(r.sha256) && Number.isSafeInteger(r.size)) {
      return r;
    }
  } catch {
    // An unreadable record is as good as none: the file is checked against the hub again.
  }
  return undefined;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** The record of `path` when the file there still matches it, else undefined (and why). */
async function verifiedCache(
  path: string,
  record: HubCacheRecord | undefined,
): Promise<{ ok: boolean; why?: string }> {
  const size = await sizeOf(path);
  if (size === undefined || !record) return { ok: false };
  if (size !== record.size) {
    return { ok: false, why: `${size} bytes where ${record.size} were recorded` };
  }
  const sha = await sha256File(path);
  if (sha !== record.sha256) return { ok: false, why: `sha256 ${sha}, recorded ${record.sha256}` };
  return { ok: true };
}

/**
 * The cached copy of a hub file, fetched first when it is not cached (or no longer matches its
 * record). Errors name the file, the URL and what to do without the network.
 */
export async function fetchHubFile(f: HubFile, o: HubFetchOptions): Promise<HubFetchResult> {
  const log = o.log ?? (() => {});
  const path = hubCachePath(o.cacheRoot, f);
  const recordPath = `${path}.json`;
  const url = hubFileUrl(o.hubUrl, f);
  const cachedRecord = await readRecord(recordPath);
  const cached = await verifiedCache(path, cachedRecord);
  if (cached.ok && cachedRecord) {
    return {
      path,
      sha256: cachedRecord.sha256,
      size: cachedRecord.size,
      downloaded: false,
      resumed: false,
      record: cachedRecord,
    };
  }
  if (cached.why) {
    log(`${path} no longer matches its record (${cached.why}); fetching it again`);
    await Deno.remove(path);
  }
  let meta: HubFileMetadata;
  try {
    meta = await hubFileMetadata(url, o);
  } catch (err) {
    throw new Error(
      `${f.repo}/${f.file}: ${(err as Error).message}; without the network, put the file at ` +
        `${path} (or pass --weights PATH)`,
    );
  }
  if (!meta.sha256) {
    log(`${url}: the hub gave no sha256; the first download's is recorded and checked from now on`);
  }
  await mkdir(dirname(path), { recursive: true });
  const got = await downloadFile(
    { url, dest: path, sha256: meta.sha256, size: meta.size, label: `${f.repo}/${f.file}` },
    o,
  );
  const sha256 = meta.sha256 ?? await sha256File(path);
  const record: HubCacheRecord = {
    repo: f.repo,
    file: f.file,
    revision: f.revision,
    url: redactUrl(url),
    sha256,
    size: got.bytes,
    checksum: meta.sha256 ? "hub" : "first-download",
    commit: meta.commit,
    fetched: new Date().toISOString(),
  };
  await writeFileAtomic(recordPath, new TextEncoder().encode(JSON.stringify(record, null, 2)));
  return { path, sha256, size: got.bytes, downloaded: !got.skipped, resumed: got.resumed, record };
}
