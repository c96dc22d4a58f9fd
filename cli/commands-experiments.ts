/** `cmnist`, `synth` and `synth-pretrain`: the debiasing benchmarks that need no download. */

import { runCmnist } from "../experiments/cmnist.ts";
import { type CmnistOptions, cmnistSchema } from "../experiments/cmnist-options.ts";
import { runSynth } from "../experiments/synth.ts";
import { type SynthOptions, synthSchema } from "../experiments/synth-options.ts";
import { pretrainSynthTrunk } from "../experiments/synth-pretrain.ts";
import { synthPretrainSchema } from "../experiments/synth-pretrain-options.ts";
import type { CommandSpec } from "./command-line.ts";

export const cmnistCommand: CommandSpec<typeof cmnistSchema> = {
  name: "cmnist",
  description: "Colored MNIST: baseline / LNTL / TABE / CLGR next to LNTL's published table",
  schema: cmnistSchema,
  run: async (o: CmnistOptions) => {
    await runCmnist(o);
  },
};

export const synthCommand: CommandSpec<typeof synthSchema> = {
  name: "synth",
  description: "synthetic skin artefacts: AUC on plain / marked / ruler / instrument-shift sets",
  schema: synthSchema,
  run: async (o: SynthOptions) => {
    await runSynth(o);
  },
};

export const synthPretrainCommand: CommandSpec<typeof synthPretrainSchema> = {
  name: "synth-pretrain",
  description:
    "pretrain the synthetic trunk on lesions free of the shortcut (synth --init-weights)",
  schema: synthPretrainSchema,
  run: async (o) => {
    await pretrainSynthTrunk(o);
  },
};
