/** Options of a `synth` run small enough for a test (16 lesions, 16 px, one epoch), plus overrides. */

import { type SynthOptions, synthSchema } from "../../experiments/synth-options.ts";

export function tinySynthOptions(overrides: Record<string, unknown>): SynthOptions {
  return synthSchema.parse({
    rulers: true,
    debiasConfig: "baseline",
    seeds: "0",
    epochs: "1",
    trainSize: "16",
    testSize: "8",
    imageSize: "16",
    width: "2",
    batchSize: "8",
    quiet: true,
    ...overrides,
  });
}
