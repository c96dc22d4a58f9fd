/**
 * SVG to PNG through resvg compiled to WASM (npm `@resvg/resvg-wasm`), with the DejaVu Sans faces
 * of npm `dejavu-fonts-ttf`, so PNG figures carry their text on any machine: resvg ships no fonts
 * and, as WASM, cannot see the system's. Debian's copy of the same faces is the fallback where the
 * package's files are missing.
 */

import { initWasm, Resvg } from "@resvg/resvg-wasm";
// Imported so that Deno caches the font package with the module graph; its files are read below.
import fontPackage from "dejavu-fonts-ttf/package.json" with { type: "json" };

const FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"] as const;
const DEBIAN_FONT_DIR = "/usr/share/fonts/truetype/dejavu";

let ready: Promise<Uint8Array[]> | null = null;

async function readFirst(candidates: string[], face: string): Promise<Uint8Array> {
  for (const path of candidates) {
    try {
      return await Deno.readFile(path);
    } catch {
      // try the next place
    }
  }
  throw new Error(
    `plot: font ${face} not found (looked in ${candidates.join(", ")}); run \`deno install\` ` +
      `to cache npm dejavu-fonts-ttf@${fontPackage.version}, or apt-get install fonts-dejavu-core`,
  );
}

function packagePath(specifier: string): string | null {
  const url = import.meta.resolve(specifier);
  return url.startsWith("file:") ? decodeURIComponent(new URL(url).pathname) : null;
}

/** Instantiates resvg's WASM and loads the fonts, once per process. */
function setUp(): Promise<Uint8Array[]> {
  ready ??= (async () => {
    const wasmPath = packagePath("@resvg/resvg-wasm/index_bg.wasm");
    if (!wasmPath) throw new Error("plot: cannot locate @resvg/resvg-wasm's index_bg.wasm");
    await initWasm(await Deno.readFile(wasmPath));
    return await Promise.all(FACES.map((face) => {
      const own = packagePath(`dejavu-fonts-ttf/ttf/${face}`);
      return readFirst([...(own ? [own] : []), `${DEBIAN_FONT_DIR}/${face}`], face);
    }));
  })().catch((e) => {
    ready = null;
    throw e;
  });
  return ready;
}

/** Renders an SVG document to PNG bytes at `scale` times its own pixel size. */
export async function rasterise(svg: string, scale = 2): Promise<Uint8Array> {
  if (!(scale > 0)) throw new Error(`plot: PNG scale must be positive, got ${scale}`);
  const fontBuffers = await setUp();
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: scale },
    font: {
      fontBuffers,
      loadSystemFonts: false,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
