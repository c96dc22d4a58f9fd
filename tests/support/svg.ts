/**
 * A strict-enough SVG reader for tests: tags must nest and close, attributes are read, and the
 * elements come back in document order, so a test can check what a figure holds.
 */

export interface SvgElement {
  name: string;
  attrs: Record<string, string>;
  /** Text directly inside the element (entities decoded). */
  text: string;
  /** Names of the enclosing elements, outermost first. */
  path: string[];
  /** `class` attributes of the enclosing elements, outermost first. */
  classes: string[];
}

function decode(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'").replace(/&#(\d+);/g, (_, d) => String.fromCharCode(+d))
    .replace(/&amp;/g, "&");
}

/** Parses an SVG document; throws on a tag that does not close or closes the wrong element. */
export function parseSvg(svg: string): SvgElement[] {
  const body = svg.replace(/^<\?xml[^>]*\?>\s*/, "").replace(/<!--[\s\S]*?-->/g, "");
  if (!/^\s*<svg[\s>]/.test(body)) throw new Error("SVG: the document does not start with <svg");
  const out: SvgElement[] = [];
  const open: SvgElement[] = [];
  const tag =
    /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < body.length) {
    tag.lastIndex = at;
    m = tag.exec(body);
    if (!m) throw new Error(`SVG: cannot read markup at offset ${at}: ${body.slice(at, at + 40)}`);
    at = tag.lastIndex;
    const [, closing, name, attrText, selfClosing, text] = m;
    if (text !== undefined) {
      if (open.length) open[open.length - 1].text += decode(text);
      else if (text.trim()) throw new Error(`SVG: text outside the root: ${text.slice(0, 40)}`);
      continue;
    }
    if (closing) {
      const top = open.pop();
      if (!top || top.name !== name) {
        throw new Error(`SVG: </${name}> closes <${top?.name ?? "nothing"}>`);
      }
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attrs[a[1]] = decode(a[2] ?? a[3]);
    }
    const el: SvgElement = {
      name,
      attrs,
      text: "",
      path: open.map((e) => e.name),
      classes: open.map((e) => e.attrs.class ?? ""),
    };
    out.push(el);
    if (!selfClosing) open.push(el);
  }
  if (open.length) throw new Error(`SVG: <${open[open.length - 1].name}> is never closed`);
  return out;
}
