/**
 * One Colored-MNIST run's results: what the run loop (cmnist.ts) produces and the report
 * (cmnist-report.ts) reads, in a module of its own so neither imports the other.
 */

import type { EpochLosses } from "../debias/run-epoch.ts";
import type { CmnistMethod } from "./cmnist-options.ts";
import type { ProbeResult } from "./linear-probe.ts";
import type { McNemarComparison } from "./statistics.ts";

/** One trained model's scores. */
export interface CmnistRun {
  method: CmnistMethod;
  sigma2: number;
  seed: number;
  testAccuracy: number;
  /** Probe of the ten mean colours (chance 0.1). */
  colourProbe: ProbeResult;
  /** Probes of the R, G and B bins (8 classes each). */
  binProbes: ProbeResult[];
  /** The colour probe of the same network before training: what training added or removed. */
  initialColourProbe: ProbeResult;
  epochs: EpochLosses[];
  trainSize: number;
  testSize: number;
  seconds: number;
  /** McNemar's test against the same sigma^2 and seed's baseline on the same test digits. */
  vsBaseline?: McNemarComparison;
}
