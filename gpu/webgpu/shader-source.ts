/**
 * Loads the WGSL op-family files of gpu/shaders/ and specialises one kernel section.
 *
 * File format (gpu/README.md has an example):
 * - `//! common` holds the family's own helpers; an `//! include NAME ...` line in it pulls in
 *   snippets of gpu/shaders/prelude.wgsl (`index`, linear indices and views, comes always). In a
 *   kernel section it pulls them into that kernel only: snippets that read a kernel's bindings
 *   (`row-exp` reads X) would not compile in the family's kernels that lack them.
 * - `//! kernel NAME` sections are compute entry points named `main`.
 * - `//! template NAME` sections are kernel bodies with `{{BLOCK}}` holes; a section
 *   `//! kernel NAME uses TEMPLATE` is then a list of `//! block BLOCK` parts that fill them, so
 *   kernels that share their loop structure (conv.wgsl's GEMM passes) differ only in the blocks.
 * - `//! main over BOUND [as NAME]` opens a one-invocation-per-element entry point: `main`, its
 *   flat index `i` (or NAME), and an early return at BOUND; the kernel's text is its body and `}`.
 * - `//! main per workgroup over BOUND as NAME` opens a one-workgroup-per-item entry point: `main`
 *   with `wid`, `nwg` and `lid`, the item NAME and `valid` (NAME < BOUND); no early return, since
 *   a workgroup's invocations all reach its barriers.
 * - `{{KEY}}` placeholders are replaced by the kernel's defines (op expressions, tile sizes); a
 *   define `ENABLES` (e.g. `enable f16;`) is written as the module's first line.
 */

/** What `//! main over BOUND as NAME` stands for. */
function linearMain(bound: string, index: string): string[] {
  return [
    "@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})",
    "fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,",
    "        @builtin(local_invocation_index) lid: u32) {",
    `  let ${index} = linearIndex(wid, nwg, lid, {{WG_SIZE}}u);`,
    `  if (${index} >= ${bound}) {`,
    "    return;",
    "  }",
  ];
}

/** What `//! main per workgroup over BOUND as NAME` stands for. */
function workgroupMain(bound: string, item: string): string[] {
  return [
    "@compute @workgroup_size({{WG_X}}, {{WG_Y}}, {{WG_Z}})",
    "fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,",
    "        @builtin(local_invocation_index) lid: u32) {",
    `  let ${item} = wid.y * nwg.x + wid.x;`,
    `  let valid = ${item} < ${bound};`,
  ];
}

export interface FamilySource {
  common: string;
  includes: string[];
  /** Snippets only one kernel pulls in (an include line in its section). */
  kernelIncludes: Map<string, string[]>;
  kernels: Map<string, string>;
  templates: Map<string, string>;
  /** For kernels made from a template: which one, and their blocks. */
  uses: Map<string, { template: string; blocks: Map<string, string> }>;
}

const HEADER = /^\/\/!\s*(common|kernel\s+(\w+)(?:\s+uses\s+(\w+))?|template\s+(\w+))\s*$/;

/** Splits a family file into its common part, includes, templates and kernel sections. */
export function parseFamily(text: string, family: string): FamilySource {
  const source: FamilySource = {
    common: "",
    includes: [],
    kernelIncludes: new Map(),
    kernels: new Map(),
    templates: new Map(),
    uses: new Map(),
  };
  let section: { kind: "common" | "kernel" | "template"; name: string; uses?: string } = {
    kind: "common",
    name: "",
  };
  let buffer: string[] = [];
  const close = () => {
    const body = buffer.join("\n");
    buffer = [];
    if (section.kind === "common") source.common += body;
    else if (section.kind === "template") source.templates.set(section.name, body);
    else if (section.uses) {
      source.uses.set(section.name, { template: section.uses, blocks: parseBlocks(body, family) });
      source.kernels.set(section.name, "");
    } else source.kernels.set(section.name, body);
  };
  for (const line of text.split("\n")) {
    const header = line.match(HEADER);
    if (header) {
      close();
      if (header[1] === "common") section = { kind: "common", name: "" };
      else if (header[4]) section = { kind: "template", name: header[4] };
      else section = { kind: "kernel", name: header[2], uses: header[3] };
      continue;
    }
    const main = line.match(/^\/\/!\s*main over\s+(.+?)(?:\s+as\s+(\w+))?\s*$/);
    if (main) {
      buffer.push(...linearMain(main[1], main[2] ?? "i"));
      continue;
    }
    const perGroup = line.match(/^\/\/!\s*main per workgroup over\s+(.+?)\s+as\s+(\w+)\s*$/);
    if (perGroup) {
      buffer.push(...workgroupMain(perGroup[1], perGroup[2]));
      continue;
    }
    const include = line.match(/^\/\/!\s*include\s+(.+)$/);
    if (include && section.kind !== "template") {
      const names = include[1].trim().split(/\s+/);
      if (section.kind === "common") source.includes.push(...names);
      else {
        source.kernelIncludes.set(section.name, [
          ...(source.kernelIncludes.get(section.name) ?? []),
          ...names,
        ]);
      }
      continue;
    }
    buffer.push(line);
  }
  close();
  if (source.kernels.size === 0) {
    throw new Error(`gpu/shaders/${family}.wgsl declares no kernel sections`);
  }
  return source;
}

/** The `//! block NAME` parts of a kernel that uses a template. */
function parseBlocks(body: string, family: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let name: string | null = null;
  let lines: string[] = [];
  const close = () => {
    if (name !== null) blocks.set(name, lines.join("\n").trim());
    else if (lines.join("").trim() !== "") {
      throw new Error(`gpu/shaders/${family}.wgsl: text outside a //! block in a templated kernel`);
    }
    lines = [];
  };
  for (const line of body.split("\n")) {
    const header = line.match(/^\/\/!\s*block\s+(\w+)\s*$/);
    if (header) {
      close();
      name = header[1];
    } else lines.push(line);
  }
  close();
  return blocks;
}

const families = new Map<string, FamilySource>();

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

let snippets: Map<string, string> | null = null;

/** The `//! snippet NAME` sections of gpu/shaders/prelude.wgsl. */
function prelude(): Map<string, string> {
  if (!snippets) {
    const url = new URL("../shaders/prelude.wgsl", import.meta.url);
    const found = new Map<string, string>();
    let name: string | null = null;
    let lines: string[] = [];
    for (const line of Deno.readTextFileSync(url).split("\n")) {
      const header = line.match(/^\/\/!\s*snippet\s+([\w-]+)\s*$/);
      if (!header) {
        lines.push(line);
        continue;
      }
      if (name !== null) found.set(name, lines.join("\n"));
      name = header[1];
      lines = [];
    }
    if (name !== null) found.set(name, lines.join("\n"));
    snippets = found;
  }
  return snippets;
}

/** A kernel section's body, a templated one's assembled from its blocks. */
function kernelBody(source: FamilySource, family: string, kernel: string): string {
  const body = source.kernels.get(kernel);
  if (body === undefined) {
    throw new Error(
      `gpu/shaders/${family}.wgsl has no kernel "${kernel}" (has: ${
        [...source.kernels.keys()].join(", ")
      })`,
    );
  }
  const uses = source.uses.get(kernel);
  if (!uses) return body;
  const template = source.templates.get(uses.template);
  if (template === undefined) {
    throw new Error(
      `gpu/shaders/${family}.wgsl: kernel ${kernel} uses no template ${uses.template}`,
    );
  }
  return template.replace(/\{\{(\w+)\}\}/g, (hole, key: string) => uses.blocks.get(key) ?? hole);
}

/** Returns the WGSL of one kernel with every `{{KEY}}` replaced; unknown keys are an error. */
export function kernelSource(
  family: string,
  kernel: string,
  defines: Record<string, string | number>,
): string {
  const source = loadFamily(family);
  const body = kernelBody(source, family, kernel);
  const includes = new Set([
    "index",
    ...source.includes,
    ...source.kernelIncludes.get(kernel) ?? [],
  ]);
  const parts = [...includes].map((name) => {
    const snippet = prelude().get(name);
    if (snippet === undefined) {
      throw new Error(`gpu/shaders/${family}.wgsl includes "${name}", not in prelude.wgsl`);
    }
    return snippet;
  });
  // Directives (`enable f16;`) must open the module, before any snippet.
  const directives = typeof defines.ENABLES === "string" && defines.ENABLES
    ? [defines.ENABLES]
    : [];
  const text = [...directives, ...parts, source.common, body].join("\n");
  return text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in defines)) throw new Error(`${family}.${kernel}: no value for {{${key}}}`);
    return String(defines[key]);
  });
}
