/**
 * Options of `cli.ts report`: one zod schema holds each default, type and help text; the
 * command line derives its flags from it (experiments/option-schema.ts).
 */

import { z } from "zod";
import { option } from "./option-schema.ts";
import { count } from "./option-parsers.ts";

export const reportSchema = z.object({
  runs: z.array(z.string().min(1)).min(1, "name at least one run folder"),
  out: option(z.string().min(1).default("./results/report"), {
    help: "folder for report.html, report.md, report.json and plots/",
    value: "<dir>",
  }),
  title: option(z.string().min(1).optional(), {
    help: "the page's title (default: Comparison of N runs)",
    value: "<text>",
  }),
  probeSamples: option(count("--probe-samples", 8).default(2000), {
    help: "images per linear probe of the bias audit at most (subsampled beyond)",
    value: "<n>",
  }),
  probeSeed: option(count("--probe-seed", 0).default(0), {
    help: "seed of the probes' fit / score split and subsampling",
    value: "<n>",
  }),
  saliencyPerRun: option(count("--saliency-per-run", 0).default(8), {
    help: "saliency maps shown per run (0: none)",
    value: "<n>",
  }),
  quiet: option(z.boolean().default(false), { help: "print only the table and the paths" }),
});

export type ReportCommandOptions = z.infer<typeof reportSchema>;
