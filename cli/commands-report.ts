/** `report`: many train runs compared on one HTML page and in one Markdown table. */

import { type ReportCommandOptions, reportSchema } from "../experiments/report-options.ts";
import { writeReport } from "../experiments/report.ts";
import type { CommandSpec } from "./command-line.ts";

export const reportCommand: CommandSpec<typeof reportSchema> = {
  name: "report",
  description:
    "compare train runs: AUC tables, overlaid ROC curves and a bias audit (HTML + Markdown)",
  schema: reportSchema,
  arguments: [{
    key: "runs",
    name: "run-folders",
    description: "run folders (<log-dir>/<test-no>, e.g. results/logs/12) or a folder of them",
    variadic: true,
    required: true,
  }],
  run: async (o: ReportCommandOptions) => {
    const result = await writeReport(o.runs, o.out, {
      title: o.title,
      probe: { maxSamples: o.probeSamples, seed: o.probeSeed },
      saliencyPerRun: o.saliencyPerRun,
      log: o.quiet ? undefined : (line) => console.log(line),
    });
    console.log(`\n${result.aucTable}\n`);
    console.log(`report: ${result.html}`);
    console.log(`        ${result.markdown}`);
  },
};
