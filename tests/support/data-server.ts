/**
 * Offline fixtures for the data download tests: a file server on 127.0.0.1
 * (port 0) that can drop a connection midway and answers Range requests,
 * plus generated images and temp folders.
 */
import { Image } from "imagescript";

export interface Route {
  body: Uint8Array | string;
  type?: string;
  /** Close the connection after this many bytes on the first request. */
  cutFirstAt?: number;
  /** Answer Range requests with the whole file (200), like servers without Range support. */
  ignoreRange?: boolean;
}
export type Handler = (req: Request) => Response | Promise<Response>;

export interface TestServer {
  base: string;
  log: { path: string; range: string | null; auth: string | null }[];
  close(): Promise<void>;
}

export function serve(routes: Record<string, Route | Handler>): TestServer {
  const log: TestServer["log"] = [];
  const seen = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const range = req.headers.get("range");
    log.push({ path: url.pathname, range, auth: req.headers.get("authorization") });
    const route = routes[url.pathname];
    if (!route) return new Response("not found", { status: 404 });
    if (typeof route === "function") return route(req);
    const body = typeof route.body === "string"
      ? new TextEncoder().encode(route.body)
      : new Uint8Array(route.body);
    const headers = { "content-type": route.type ?? "application/octet-stream" };
    const n = (seen.get(url.pathname) ?? 0) + 1;
    seen.set(url.pathname, n);
    if (n === 1 && route.cutFirstAt !== undefined) {
      const cut = route.cutFirstAt;
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body.slice(0, cut));
          // Ending short of Content-Length makes the server drop the connection.
          setTimeout(() => c.close(), 30);
        },
      });
      return new Response(stream, {
        headers: { ...headers, "content-length": String(body.length) },
      });
    }
    const m = range?.match(/^bytes=(\d+)-$/);
    if (m && !route.ignoreRange) {
      const start = Number(m[1]);
      return new Response(body.slice(start), {
        status: 206,
        headers: {
          ...headers,
          "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
        },
      });
    }
    return new Response(body, { headers });
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    log,
    close: () => server.shutdown(),
  };
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

export const RED = 0xff0000ff, GREEN = 0x00ff00ff, BLUE = 0x0000ffff;

/** Three colour bands across the long side, so the centre crop must be the middle band. */
export async function bands(width: number, height: number, png = false): Promise<Uint8Array> {
  const img = new Image(width, height);
  const long = Math.max(width, height);
  for (let x = 1; x <= width; x++) {
    for (let y = 1; y <= height; y++) {
      const t = width >= height ? x - 1 : y - 1;
      img.setPixelAt(x, y, t < long / 3 ? RED : t < (2 * long) / 3 ? GREEN : BLUE);
    }
  }
  return png ? await img.encode() : await img.encodeJPEG(95);
}

export async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sdu-download-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
