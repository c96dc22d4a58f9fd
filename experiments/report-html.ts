/**
 * The report as one self-contained HTML page: tables as HTML, figures as inline SVG (their ids
 * made unique per figure, since several SVGs share one document), saliency maps as data URIs.
 * Nothing is fetched when it is opened, so the page can be mailed or archived as is.
 */

import { Buffer } from "node:buffer";
import { aucTableCells, gapCells, probeCells, type ReportModel, runCells } from "./report-model.ts";

/** Figures the page shows besides its tables. */
export interface ReportFigures {
  roc: { set: string; svg: string }[];
  training: { testNo: string; configuration: string; svg: string }[];
  saliency: {
    testNo: string;
    configuration: string;
    images: { name: string; png: Uint8Array }[];
  }[];
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Prefixes every id of an SVG document, and the references to them, with `prefix`. */
export function uniqueSvgIds(svg: string, prefix: string): string {
  return svg.replace(/^<\?xml[^>]*\?>\s*/, "")
    .replace(/\bid="([^"]+)"/g, (_, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${prefix}-${id})`)
    .replace(/href="#([^"]+)"/g, (_, id) => `href="#${prefix}-${id}"`);
}

/** Cells that read as numbers (right-aligned); the rest are left-aligned. */
const NUMERIC = /^([+−-]?\d|\[|< |—$)/;

function table(id: string, cells: { header: string[]; rows: string[][] }, caption: string) {
  const th = (c: string) => `<th scope="row">${escapeHtml(c)}</th>`;
  const td = (c: string) => `<td${NUMERIC.test(c) ? "" : ` class="text"`}>${escapeHtml(c)}</td>`;
  const head = cells.header.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
  const body = cells.rows.map((r) => `<tr>${r.map((c, i) => (i ? td(c) : th(c))).join("")}</tr>`);
  return [
    `<table id="${id}"><caption>${escapeHtml(caption)}</caption>`,
    `<thead><tr>${head}</tr></thead>`,
    `<tbody>`,
    ...body,
    `</tbody></table>`,
  ].join("\n");
}

/** The cells of a table in the Markdown of results-files' markdownTable. */
export function markdownCells(md: string): { header: string[]; rows: string[][] } {
  const lines = md.trim().split("\n").filter((l) => l.startsWith("|"));
  const cells = (l: string) => l.slice(1, -1).split(" | ").map((c) => c.trim());
  if (lines.length < 2) throw new Error(`report: not a Markdown table: ${md.slice(0, 80)}`);
  return { header: cells(lines[0]), rows: lines.slice(2).map(cells) };
}

function figure(attrs: string, svg: string, prefix: string, caption: string): string {
  const body = uniqueSvgIds(svg, prefix);
  return `<figure ${attrs}>${body}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

function image(name: string, png: Uint8Array): string {
  const src = `data:image/png;base64,${Buffer.from(png).toString("base64")}`;
  const alt = escapeHtml(name);
  return `<figure><img alt="${alt}" src="${src}"><figcaption>${alt}</figcaption></figure>`;
}

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
  padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; }
h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
caption { text-align: left; color: #555; padding-bottom: 0.3rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right;
  font-variant-numeric: tabular-nums; }
th[scope="row"], thead th, td.text { text-align: left; }
th[scope="row"], thead th { background: #f5f5f5; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; }
figcaption { color: #555; font-size: 0.9rem; }
.saliency img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ddd; }
p.note { color: #555; max-width: 60rem; }
`;

const NOTES = {
  intro: "AUCs are of the test-time-augmented predictions; ± is the standard deviation over " +
    "seeds (or CV folds).",
  baseline: "Δ = method minus its baseline on the same test set, paired over the seeds (or " +
    "folds) both ran, with the 95 % t-interval of the mean difference; each seed's own " +
    "DeLong test compares the two runs' predictions of the same images (one seed: that test's " +
    "interval and p; several: how many seeds it found significant, ↑ better, ↓ worse).",
  audit: "AUC gap: AUC on the plain set minus AUC on the same kind of lesions with the artefact " +
    "(lower is better; 0 means the artefact costs nothing). Linear probe: a logistic " +
    "regression fitted on half of a run's frozen trunk features (all its test sets pooled) and " +
    "scored on the other half; for a bias label lower is better (the representation no longer " +
    "encodes it), and chance is the commonest class's share. The diagnosis probe is there for " +
    "reference: unlearning that also removes the lesion leaves it near chance too.",
  saliency: "|d score / d input|, largest over colour channels: image, map, map over the image.",
};

function note(text: string): string {
  return `<p class="note">${escapeHtml(text)}</p>`;
}

/** The whole page. */
export function reportHtml(m: ReportModel, f: ReportFigures): string {
  const s: string[] = [
    `<h1>${escapeHtml(m.title)}</h1>`,
    note(`Generated ${m.generated} from ${m.runs.length} run folder(s). ${NOTES.intro}`),
    `<h2 id="auc">AUC per test set</h2>`,
    table("auc-table", aucTableCells(m), "ROC AUC per test set per configuration"),
  ];
  if (m.comparisons.length) {
    s.push(`<h2 id="baseline">Against the baseline</h2>`, note(NOTES.baseline));
    m.comparisons.forEach((c, i) => {
      const caption = `AUC difference to ${c.baseline}, paired over ${c.unitName}s`;
      s.push(table(`baseline-table-${i}`, markdownCells(c.difference), caption));
    });
  }
  s.push(`<h2 id="roc">ROC curves</h2>`, `<div class="figures" id="roc-figures">`);
  f.roc.forEach((r, i) => {
    const attrs = `class="roc" id="roc-${i}" data-set="${escapeHtml(r.set)}"`;
    s.push(figure(attrs, r.svg, `roc${i}`, `${r.set}: every run, coloured by configuration`));
  });
  s.push(`</div>`, `<h2 id="audit">Bias audit</h2>`, note(NOTES.audit));
  if (m.gapRows.length) {
    s.push(table("gap-table", gapCells(m), "AUC gap, plain minus artefact set"));
  } else s.push("<p>No run has a plain test set to compare with.</p>");
  m.comparisons.filter((c) => c.recovery).forEach((c, i) => {
    const caption = `share of ${c.baseline}'s drop won back, paired over ${c.unitName}s`;
    s.push(table(`recovery-table-${i}`, markdownCells(c.recovery), caption));
  });
  s.push(
    m.probes.length
      ? table("probe-table", probeCells(m), "linear probes on frozen features")
      : "<p>No run saved features to probe.</p>",
  );
  if (f.training.length) {
    s.push(`<h2 id="training">Training</h2>`, `<div class="figures">`);
    f.training.forEach((t, i) => {
      const caption = `run ${t.testNo} (${t.configuration})`;
      s.push(figure(`class="training"`, t.svg, `train${i}`, caption));
    });
    s.push(`</div>`);
  }
  if (f.saliency.length) {
    s.push(`<h2 id="saliency">Saliency maps</h2>`, note(NOTES.saliency));
    for (const run of f.saliency) {
      s.push(`<h3>run ${escapeHtml(run.testNo)} (${escapeHtml(run.configuration)})</h3>`);
      s.push(`<div class="figures saliency">`, ...run.images.map((im) => image(im.name, im.png)));
      s.push(`</div>`);
    }
  }
  s.push(`<h2 id="runs">Runs</h2>`, table("runs-table", runCells(m), "the run folders compared"));
  return [
    `<!DOCTYPE html>`,
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(m.title)}</title>`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<style>${STYLE}</style></head>`,
    `<body>`,
    ...s,
    `</body></html>`,
    ``,
  ].join("\n");
}
