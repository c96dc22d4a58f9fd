import { join } from "node:path";
import { parseCommandArgs } from "../cli/command-line.ts";
import { reportCommand } from "../cli/commands-report.ts";
import { rocAuc } from "../experiments/metrics.ts";
import { plainPairs } from "../experiments/report-audit.ts";
import { formatDifference, formatP } from "../experiments/comparisons.ts";
import { markdownCells, uniqueSvgIds } from "../experiments/report-html.ts";
import { writeReport } from "../experiments/report.ts";
import type { PredictionsFile } from "../experiments/run-layout.ts";
import { delongTest, pairedDifference } from "../experiments/statistics.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { type FakeRun, writeFakeRun } from "./support/fake-runs.ts";

const CHROMIUM = "/usr/bin/chromium";

const RUNS: FakeRun[] = [
  {
    testNo: "1-s0",
    method: "baseline",
    seed: 0,
    separation: { plain: 4, marked: 1, rulers: 2.5 },
    markedFeature: 3,
  },
  {
    testNo: "1-s1",
    method: "baseline",
    seed: 1,
    separation: { plain: 4, marked: 1.2, rulers: 2.5 },
    markedFeature: 3,
  },
  {
    testNo: "4-s0",
    method: "CLGR",
    seed: 0,
    options: { debiasConfig: "TABE", GRL: true },
    separation: { plain: 4, marked: 3, rulers: 3 },
    markedFeature: 0,
    saliency: true,
  },
  {
    testNo: "4-s1",
    method: "CLGR",
    seed: 1,
    options: { debiasConfig: "TABE", GRL: true },
    separation: { plain: 4, marked: 3.2, rulers: 3 },
    markedFeature: 0,
  },
  {
    testNo: "2",
    method: "LNTL+GRL",
    seed: 0,
    options: { debiasConfig: "LNTL", GRL: true },
    separation: { plain: 4, marked: 2, rulers: 2.5 },
    markedFeature: 1,
  },
];

async function fabricate(): Promise<{ root: string; folders: string[] }> {
  const root = await Deno.makeTempDir({ prefix: "sdu-report-" });
  const folders = [];
  for (const run of RUNS) folders.push(await writeFakeRun(root, run));
  return { root, folders };
}

const readJson = async <T>(path: string) => JSON.parse(await Deno.readTextFile(path)) as T;

Deno.test("plain sets pair with their artefact sets by name, or the only plain set with all", () => {
  assertEqual(plainPairs(["plain", "marked", "rulers"]), [
    { plain: "plain", set: "marked" },
    { plain: "plain", set: "rulers" },
  ], "synthetic");
  assertEqual(plainPairs(["plain_marked", "marked", "plain_rulers", "rulers"]), [
    { plain: "plain_marked", set: "marked" },
    { plain: "plain_rulers", set: "rulers" },
  ], "Heidelberg");
  assertEqual(plainPairs(["atlas_dermoscopic", "asan"]), [], "no plain set");
});

Deno.test("SVG ids are made unique per figure, references with them", () => {
  const svg = `<svg><defs><clipPath id="clip1"/></defs><g clip-path="url(#clip1)"/>` +
    `<use href="#clip1"/></svg>`;
  assertEqual(
    uniqueSvgIds(svg, "f2"),
    `<svg><defs><clipPath id="f2-clip1"/></defs><g clip-path="url(#f2-clip1)"/>` +
      `<use href="#f2-clip1"/></svg>`,
    "prefixed",
  );
});

Deno.test("report: AUC table over seeds, comparisons with the baseline, gaps and probes", async () => {
  const { root, folders } = await fabricate();
  try {
    const out = join(root, "report");
    // The parent of the run folders stands for all of them, read in name order (1-s0, 1-s1, 2,
    // 4-s0, 4-s1); configurations come in the order of their first run.
    const r = await writeReport([join(root, "logs")], out);
    for (const p of [r.html, r.markdown, r.json, ...r.figures]) await Deno.stat(p);
    assertEqual(r.model.runs.length, 5, "runs read");
    assertEqual(
      r.model.aucRows.map((x) => x.configuration),
      ["baseline", "LNTL+GRL", "CLGR"],
      "configurations",
    );
    assertEqual(r.model.sets, ["plain", "marked", "rulers"], "sets");

    const preds = await Promise.all(
      folders.map((f) => readJson<PredictionsFile>(join(f, "predictions.json"))),
    );
    const auc = (k: number, set: string) => rocAuc(preds[k][set].scores, preds[k][set].targets);
    // Predictions in the order of RUNS.
    const [b0, b1, c0, c1, lntl] = [0, 1, 2, 3, 4];
    const baselineMarked = r.model.aucRows[0].auc.marked!;
    assertEqual(baselineMarked.basis, "seeds", "basis");
    assertClose(
      baselineMarked.values,
      [auc(b0, "marked"), auc(b1, "marked")],
      "baseline marked AUCs",
    );
    const line = r.aucTable.split("\n").find((l) => l.startsWith("| baseline"))!;
    const mean = (auc(b0, "marked") + auc(b1, "marked")) / 2;
    if (!line.includes(`${mean.toFixed(3)} ± `)) {
      throw new Error(`AUC table row lacks the mean ± sd: ${line}`);
    }

    assertEqual(r.model.comparisons.length, 1, "one baseline");
    const { difference, recovery, unitName } = r.model.comparisons[0];
    assertEqual(unitName, "seed", "paired over seeds");
    const cells = markdownCells(difference);
    const cell = (method: string, set: string) =>
      cells.rows.find((row) => row[0] === method)![cells.header.indexOf(`${set}: Δ vs baseline`)];
    const paired = pairedDifference(
      [auc(c0, "marked"), auc(c1, "marked")],
      [auc(b0, "marked"), auc(b1, "marked")],
    );
    const clgr = cell("CLGR", "marked");
    if (!clgr.startsWith(formatDifference(paired)) || !/DeLong p<0.05: \d↑ \d↓ of 2$/.test(clgr)) {
      throw new Error(`CLGR's marked cell "${clgr}" is not the paired difference over 2 seeds`);
    }
    // One seed: that seed's DeLong test against the seed-0 baseline.
    const d = delongTest(
      preds[lntl].marked.scores,
      preds[b0].marked.scores,
      preds[b0].marked.targets,
    );
    const delong = `${formatDifference({ mean: d.difference, ...d })} ${formatP(d.p)} (DeLong)`;
    assertEqual(cell("LNTL+GRL", "marked"), delong, "single run against the seed-0 baseline");
    if (!recovery.includes("marked: share of the drop recovered")) {
      throw new Error(`no recovery table: ${recovery}`);
    }

    const gap = r.model.gapRows.find((g) => g.configuration === "baseline")!.gaps.marked;
    assertClose([gap.mean], [
      (auc(b0, "plain") - auc(b0, "marked") + auc(b1, "plain") - auc(b1, "marked")) / 2,
    ], "gap");
    assertEqual(r.model.gapSets, ["marked", "rulers"], "gap sets");

    const probe = (testNo: string, label: string) =>
      r.model.probes.find((p) => p.testNo === testNo)!.rows.find((x) => x.label === label)!;
    const decodable = probe("1-s0", "marked"), removed = probe("4-s0", "marked");
    if (!(decodable.accuracy > 0.95 && decodable.auc > 0.95)) {
      throw new Error(
        `baseline's marking probe should find the marking: ${JSON.stringify(decodable)}`,
      );
    }
    if (!(removed.accuracy < 0.8 && removed.auc < 0.75)) {
      throw new Error(`CLGR's marking probe should be near chance: ${JSON.stringify(removed)}`);
    }
    assertEqual(decodable.samples, 180, "probe pools the three sets");
    if (!(probe("4-s0", "target").auc > 0.8)) throw new Error("the diagnosis probe should work");

    const md = await Deno.readTextFile(r.markdown);
    for (
      const s of [
        "## AUC per test set",
        "## Against the baseline",
        "plots/roc-marked.png",
        "marked gap",
      ]
    ) {
      if (!md.includes(s)) throw new Error(`report.md lacks "${s}"`);
    }
    const json = await readJson<{ sets: string[] }>(r.json);
    assertEqual(json.sets, ["plain", "marked", "rulers"], "report.json");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report: a folder without runs, a run without metrics, two runs of one seed", async () => {
  const root = await Deno.makeTempDir({ prefix: "sdu-report-" });
  try {
    const fail = async (folders: string[], pattern: RegExp, label: string) => {
      const message = await writeReport(folders, join(root, "out")).then(
        () => "no error",
        (e) => e.message,
      );
      if (!pattern.test(message)) throw new Error(`${label}: "${message}"`);
    };
    await fail([join(root, "nowhere")], /nowhere is not a folder/, "missing folder");
    await Deno.mkdir(join(root, "empty"));
    await fail(
      [join(root, "empty")],
      /holds no config.json, nor do the folders in it/,
      "empty folder",
    );
    const a = await writeFakeRun(root, RUNS[0]);
    await Deno.remove(join(a, "metrics.json"));
    await fail(
      [a],
      /has no metrics.json: run 1-s0 .* cli.ts evaluate --test-no 1-s0/,
      "no metrics",
    );
    const b = await writeFakeRun(join(root, "x"), RUNS[1]);
    const c = await writeFakeRun(join(root, "y"), { ...RUNS[1], testNo: "1-again" });
    await fail([b, c], /same configuration with the same seed \(1\)/, "duplicate seed");
    await Deno.writeTextFile(
      join(b, "metrics.json"),
      JSON.stringify({ testNo: "1", method: "x", sets: { plain: { n: "many" } } }),
    );
    await fail([b], /metrics.json at sets.plain.n: /, "bad metrics");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cli.ts report: run folders as arguments, options from the schema", async () => {
  const root = await Deno.makeTempDir({ prefix: "sdu-report-" });
  try {
    const a = await writeFakeRun(root, RUNS[0]);
    const b = await writeFakeRun(root, RUNS[2]);
    const out = join(root, "page");
    const parsed = await parseCommandArgs(reportCommand, [a, b, "--out", out, "--quiet"]);
    assertEqual(parsed.settings.runs, [a, b], "positional run folders");
    assertEqual(
      [parsed.settings.probeSamples, parsed.settings.saliencyPerRun],
      [2000, 8],
      "defaults",
    );
    const log = console.log;
    const printed: string[] = [];
    console.log = (...x: unknown[]) => printed.push(x.join(" "));
    try {
      await reportCommand.run(parsed.settings, { given: parsed.given });
    } finally {
      console.log = log;
    }
    await Deno.stat(join(out, "report.html"));
    const text = printed.join("\n");
    if (!text.includes("| CLGR | 4-s0 |") || !text.includes(join(out, "report.html"))) {
      throw new Error(`report command printed:\n${text}`);
    }
    const bad = await parseCommandArgs(reportCommand, [a, "--probe-samples", "2"])
      .then(() => "no error", (e) => e.message);
    if (!/--probe-samples: --probe-samples must be >= 8/.test(bad)) {
      throw new Error(`--probe-samples 2 gave "${bad}"`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function chromiumStatus(): "ok" | string {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return "ok";
  } catch {
    // reported below
  }
  return `${CHROMIUM} not found (apt-get install chromium)`;
}

const chromium = chromiumStatus();
if (chromium !== "ok") {
  if (Deno.env.get("REQUIRE_CHROMIUM") === "1") {
    Deno.test("report page in a headless browser", () => {
      throw new Error(`REQUIRE_CHROMIUM=1 but ${chromium}`);
    });
  } else console.warn(`report browser test skipped: ${chromium}`);
}

Deno.test({
  name: "report page in a headless browser: the comparison table and the ROC figures render",
  ignore: chromium !== "ok",
  async fn() {
    const { root } = await fabricate();
    try {
      const r = await writeReport([join(root, "logs")], join(root, "report"));
      const profile = await Deno.makeTempDir({ prefix: "sdu-chromium-" });
      const output = await new Deno.Command(CHROMIUM, {
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${profile}`,
          "--dump-dom",
          `file://${r.html}`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(90_000),
      }).output();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      const dom = new TextDecoder().decode(output.stdout);
      if (!output.success || !dom.includes("</html>")) {
        throw new Error(
          `chromium failed (${output.code}): ${
            new TextDecoder().decode(output.stderr).slice(-2000)
          }`,
        );
      }
      const table = dom.match(/<table id="auc-table">([\s\S]*?)<\/table>/);
      if (!table) throw new Error("the rendered page has no AUC table");
      const rows = [...table[1].matchAll(/<tr><th scope="row">([^<]*)<\/th>/g)].map((m) => m[1]);
      assertEqual(rows, ["baseline", "LNTL+GRL", "CLGR"], "AUC table rows in the DOM");
      const figures = [
        ...dom.matchAll(
          /<figure class="roc" id="roc-\d+" data-set="([^"]+)">([\s\S]*?)<\/figure>/g,
        ),
      ];
      assertEqual(
        figures.map((f) => f[1]),
        ["plain", "marked", "rulers"],
        "ROC figures in the DOM",
      );
      const curves = (figures[1][2].match(/<path[^>]*>/g) ?? []).length;
      if (!figures[1][2].includes("<svg") || curves < 5) {
        throw new Error(
          `the marked ROC figure holds ${curves} paths, expected the 5 runs' curves and more`,
        );
      }
      if (!/<img alt="marked-0" src="data:image\/png;base64,/.test(dom)) {
        throw new Error("no saliency image");
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
