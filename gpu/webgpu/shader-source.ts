/**
 * Loads the WGSL op-family files of gpu/shaders/ and specialises one kernel section.
 *
 * File format: `//! common` holds helpers shared by the family; each `//! kernel NAME` section
 * is one compute entry point named `main`. `{{KEY}}` placeholders are replaced by the
 * kernel's defines (op expressions, workgroup sizes), so one file serves many variants.
 */

const PRELUDE = `
fn linearIndex(wid: vec3u, nwg: vec3u, lid: u32, wgSize: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wgSize + lid;
}

// Views of up to 8 dims travel as array<vec4<i32>, 2> uniforms (see gpu/views.ts packDims).
fn dimOf(v: array<vec4<i32>, 2>, d: u32) -> i32 {
  return v[d / 4u][d % 4u];
}

// Flat offset of the i-th element (row-major over shape) of a strided view.
fn viewOffset(i: u32, rank: u32, offset: i32, shape: array<vec4<i32>, 2>,
              stride: array<vec4<i32>, 2>) -> i32 {
  var rest = i32(i);
  var o = offset;
  for (var d = i32(rank) - 1; d >= 0; d--) {
    let size = dimOf(shape, u32(d));
    o += (rest % size) * dimOf(stride, u32(d));
    rest = rest / size;
  }
  return o;
}
`;

interface FamilySource {
  common: string;
  kernels: Map<string, string>;
}

const families = new Map<string, FamilySource>();

/** Splits a family file into its common part and named kernel sections. */
export function parseFamily(text: string, family: string): FamilySource {
  const kernels = new Map<string, string>();
  let common = "";
  let current: string | null = null;
  let buffer: string[] = [];
  const close = () => {
    if (current === null) common += buffer.join("\n");
    else kernels.set(current, buffer.join("\n"));
    buffer = [];
  };
  for (const line of text.split("\n")) {
    const header = line.match(/^\/\/!\s*(common|kernel\s+(\w+))\s*$/);
    if (header) {
      close();
      current = header[2] ?? null;
      continue;
    }
    buffer.push(line);
  }
  close();
  if (kernels.size === 0) throw new Error(`gpu/shaders/${family}.wgsl declares no kernel sections`);
  return { common, kernels };
}

function loadFamily(family: string): FamilySource {
  let source = families.get(family);
  if (!source) {
    const url = new URL(`../shaders/${family}.wgsl`, import.meta.url);
    let text: string;
    try {
      text = Deno.readTextFileSync(url);
    } catch (err) {
      throw new Error(`cannot read WGSL family ${url.pathname}: ${(err as Error).message}`);
    }
    source = parseFamily(text, family);
    families.set(family, source);
  }
  return source;
}

/** Returns the WGSL of one kernel with every `{{KEY}}` replaced; unknown keys are an error. */
export function kernelSource(
  family: string,
  kernel: string,
  defines: Record<string, string | number>,
): string {
  const source = loadFamily(family);
  const body = source.kernels.get(kernel);
  if (body === undefined) {
    throw new Error(
      `gpu/shaders/${family}.wgsl has no kernel "${kernel}" (has: ${
        [...source.kernels.keys()].join(", ")
      })`,
    );
  }
  const text = PRELUDE + source.common + "\n" + body;
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in defines)) throw new Error(`${family}.${kernel}: no value for {{${key}}}`);
    return String(defines[key]);
  });
}
