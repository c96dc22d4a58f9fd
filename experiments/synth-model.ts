/**
 * The synthetic experiments' compact trunk now lives in nn/models/synth-cnn.ts (registered as
 * `synth-cnn`); this module keeps the old import path of `cli.ts synth` and its helpers working.
 */

export { type SynthTrunk, synthTrunk } from "../nn/models/synth-cnn.ts";
