/**
 * Where a trunk's ImageNet weights come from and where they are kept: the Hugging Face hub repo
 * of timm's `.safetensors` file for the registry's trunk (its {@link WeightMapping}'s `timm`
 * name: `resnet101` -> `timm/resnet101.tv_in1k`), the hub's base URL (configurable, so tests and
 * mirrors serve the files from elsewhere) and the cache folder (`$SDU_CACHE`, else the platform's
 * cache dir). Pure: nothing here touches the network (data/hub-download.ts fetches).
 */

import { join } from "node:path";
import { type InputNormalisation, trunkEntry } from "../models/registry.ts";

/** The public hub, used when neither the option nor an environment variable names another. */
export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Environment variables that name the hub, first match wins (HF_ENDPOINT: huggingface_hub's). */
export const HUB_URL_ENV = ["SDU_HUB_URL", "HF_ENDPOINT"] as const;

/** The file timm publishes in every model repo. */
export const TIMM_WEIGHTS_FILE = "model.safetensors";

/** One file on the hub. */
export interface HubFile {
  /** `owner/name`, e.g. "timm/resnet101.tv_in1k". */
  repo: string;
  /** Path inside the repo, e.g. "model.safetensors". */
  file: string;
  /** Branch, tag or commit ("main" unless pinned). */
  revision: string;
}

/** A trunk's published ImageNet weights. */
export interface PretrainedSource extends HubFile {
  /** Registry name of the trunk, e.g. "resnet101". */
  trunk: string;
  /** The input normalisation the weights were trained with (the data pipeline applies it). */
  normalisation: InputNormalisation;
}

/** Thrown when a trunk has no published weights; the message says what to do instead. */
export class NoPretrainedWeightsError extends Error {}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkSegment(value: string, what: string): void {
  if (!SEGMENT.test(value) || value.includes("..")) {
    throw new Error(`${what} ${JSON.stringify(value)}: letters, digits, '.', '_' and '-' only`);
  }
}

/** Checks a hub file's names (they become cache paths, so no '..' or separators). */
export function checkHubFile(f: HubFile): void {
  const parts = f.repo.split("/");
  if (parts.length !== 2) throw new Error(`hub repo ${JSON.stringify(f.repo)}: not owner/name`);
  parts.forEach((p) => checkSegment(p, "hub repo part"));
  f.file.split("/").forEach((p) => checkSegment(p, "hub file path part"));
  checkSegment(f.revision, "hub revision");
}

/**
 * The published ImageNet weights of registry trunk `trunk`; a trunk without any (the synthetic
 * CNN; EfficientNet-B6/B7, for which timm publishes only the TF-padded `tf_` ports) throws
 * {@link NoPretrainedWeightsError} pointing at `--weights PATH` and `--pretrained false`.
 */
export function pretrainedSource(trunk: string, revision = "main"): PretrainedSource {
  const entry = trunkEntry(trunk);
  const timm = entry.weights.timm;
  if (!timm) {
    throw new NoPretrainedWeightsError(
      `--pretrained: no ImageNet weights are published for ${entry.name} in its layout; ` +
        `pass a state dict with --weights PATH, or train from scratch with --pretrained false`,
    );
  }
  const source = {
    trunk: entry.name,
    repo: `timm/${timm}`,
    file: TIMM_WEIGHTS_FILE,
    revision,
    normalisation: entry.normalisation,
  };
  checkHubFile(source);
  return source;
}

/**
 * The hub's base URL: `option` (e.g. `--hub-url`), else the first of {@link HUB_URL_ENV} that is
 * set, else {@link DEFAULT_HUB_URL}; without a trailing slash. Anything but http(s) is an error
 * naming where the value came from.
 */
export function hubBaseUrl(
  option?: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string {
  let value = option;
  let from = "--hub-url";
  for (const name of HUB_URL_ENV) {
    if (value) break;
    value = env(name);
    from = `$${name}`;
  }
  if (!value) return DEFAULT_HUB_URL;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${from} ${JSON.stringify(value)} is not a URL (e.g. ${DEFAULT_HUB_URL})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${from} ${JSON.stringify(value)}: the hub is reached over http(s)`);
  }
  return url.href.replace(/\/+$/, "");
}

/** The download URL of a hub file, as huggingface_hub's `hf_hub_url` builds it. */
export function hubFileUrl(base: string, f: HubFile): string {
  checkHubFile(f);
  const path = f.file.split("/").map(encodeURIComponent).join("/");
  return `${base.replace(/\/+$/, "")}/${f.repo}/resolve/${encodeURIComponent(f.revision)}/${path}`;
}

/** What the cache folder depends on (injectable for tests). */
export interface CacheEnv {
  env?: (name: string) => string | undefined;
  os?: typeof Deno.build.os;
}

/**
 * The toolkit's cache folder: `$SDU_CACHE` as given, else `skin-deep-unlearning` inside the
 * platform's cache dir ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS,
 * %LOCALAPPDATA% on Windows).
 */
export function cacheRoot({ env = (n) => Deno.env.get(n), os = Deno.build.os }: CacheEnv = {}) {
  const own = env("SDU_CACHE");
  if (own) return own;
  const home = env("HOME") ?? env("USERPROFILE");
  let base: string | undefined;
  if (os === "windows") base = env("LOCALAPPDATA") ?? (home && join(home, "AppData", "Local"));
  else if (os === "darwin") base = home && join(home, "Library", "Caches");
  else base = env("XDG_CACHE_HOME") || (home && join(home, ".cache"));
  if (!base) {
    throw new Error("no cache folder: set $SDU_CACHE (or $HOME) to where weights may be kept");
  }
  return join(base, "skin-deep-unlearning");
}

/** Where a hub file is cached: `<root>/hub/<owner>/<name>/<revision>/<file>`. */
export function hubCachePath(root: string, f: HubFile): string {
  checkHubFile(f);
  const [owner, name] = f.repo.split("/");
  return join(root, "hub", owner, name, f.revision, ...f.file.split("/"));
}
