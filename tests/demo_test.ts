/**
 * `demo` at a tiny size: the study's four markings presets train on synthetic lesions, each
 * writes its run folder, and the report compares them in one table.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { demoSeedNote, runDemo } from "../cli/commands-demo.ts";
import { demoSchema } from "../experiments/demo-options.ts";
import { RUN_FILES } from "../experiments/run-layout.ts";

Deno.test("demo: baseline, LNTL+GRL, TABE and CLGR on a marking shortcut, then the report", async () => {
  const out = Deno.makeTempDirSync({ prefix: "sdu-demo-" });
  try {
    const lines: string[] = [];
    const result = await runDemo(
      demoSchema.parse({
        trainSize: "32",
        testSize: "12",
        imageSize: "16",
        epochs: "1",
        batchSize: "8",
        backend: "cpu",
        quiet: true,
        out,
      }),
      (l) => lines.push(l),
    );
    for (const id of ["1", "2", "3", "4"]) {
      assert.ok(existsSync(join(out, "logs", id, RUN_FILES.metrics)), `run ${id}`);
    }
    assert.ok(existsSync(result.html) && existsSync(result.markdown));
    for (const method of ["baseline", "LNTL+GRL", "TABE", "CLGR"]) {
      assert.match(result.aucTable, new RegExp(`\\| ${method.replace("+", "\\+")} \\|`));
    }
    assert.match(result.aucTable, /plain \| marked/);
    assert.ok(lines.at(-1)?.includes(result.html), lines.at(-1));
    assert.ok(lines.some((l) => /^\| CLGR \| .*DeLong/.test(l)), "the DeLong comparison");
    assert.ok(lines.some((l) => l.startsWith("demo: one seed")), "how often it holds");
  } finally {
    Deno.removeSync(out, { recursive: true });
  }
});

Deno.test("demo: at its defaults it quotes the committed five-seed verdicts of its setting and the stronger one", () => {
  const note = demoSeedNote(demoSchema.parse({})).join("\n");
  for (const preset of ["marked", "marked-deep-long"]) {
    const table = Deno.readTextFileSync(
      new URL(`../bench/results/unlearning-${preset}.md`, import.meta.url),
    );
    const verdict = table.split("\n").find((l) => l.startsWith("- LNTL+GRL:"));
    assert.ok(verdict, `${preset}: a committed LNTL+GRL verdict`);
    assert.ok(note.includes(verdict), `${preset}: the note quotes "${verdict}"`);
  }
  assert.match(demoSeedNote(demoSchema.parse({ seed: "3" })).join("\n"), /over seeds 0-4/);
  assert.match(demoSeedNote(demoSchema.parse({ epochs: "2" }))[0], /one seed \(0\) only/);
});
