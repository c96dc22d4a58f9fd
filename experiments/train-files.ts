/**
 * The run folder's plain files as a run writes them: its three folders (run-layout.ts), the
 * resolved configuration, the human log (one line per epoch, plus the start, the end and any
 * failure, each with the time, as the study's log_Test<N>.txt had) and epochs.jsonl, rewritten
 * whole and atomically after each epoch so that a resumed run's records never hold an epoch twice.
 */

import { lossScaleText } from "../debias/run-epoch.ts";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic } from "./results-files.ts";
import { type EpochRecord, RUN_FILES, type RunConfigFile, type RunDirs } from "./run-layout.ts";

/** Writes the files of one run. */
export class RunFiles {
  constructor(readonly dirs: RunDirs) {}

  /** Creates the run, weights and plots folders. */
  prepare(): void {
    for (const dir of [this.dirs.run, this.dirs.weights, this.dirs.plots]) {
      mkdirSync(dir, { recursive: true });
    }
  }

  /** A file of the run folder. */
  path(name: string): string {
    return join(this.dirs.run, name);
  }

  writeConfig(config: RunConfigFile): void {
    writeAtomic(this.path(RUN_FILES.config), JSON.stringify(config, null, 2) + "\n");
  }

  hasConfig(): boolean {
    return existsSync(this.path(RUN_FILES.config));
  }

  /** Appends one line to train.log, prefixed with the local time. */
  log(line: string): void {
    const stamp = new Date().toISOString().replace("T", " ").slice(0, 19);
    Deno.writeTextFileSync(this.path(RUN_FILES.log), `${stamp} ${line}\n`, { append: true });
  }

  writeEpochs(records: readonly EpochRecord[]): void {
    writeAtomic(
      this.path(RUN_FILES.epochs),
      records.map((r) => JSON.stringify(r)).join("\n") + (records.length ? "\n" : ""),
    );
  }

  /** The records already on disk (none when the file is missing). */
  readEpochs(): EpochRecord[] {
    const path = this.path(RUN_FILES.epochs);
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l, i) => {
      try {
        return JSON.parse(l) as EpochRecord;
      } catch {
        throw new Error(`${path}: line ${i + 1} is not JSON`);
      }
    });
  }
}

/** The epoch's line of train.log and of the console. */
export function epochLine(r: EpochRecord, epochs: number, auxNames: readonly string[]): string {
  const fold = r.fold === undefined ? "" : `fold ${r.fold + 1}, `;
  const aux = r.loss.aux.map((v, k) => `, aux ${auxNames[k] ?? k + 1} ${v.toFixed(5)}`).join("");
  const val = r.valAuc === undefined ? "" : `, val AUC ${r.valAuc.toFixed(4)}`;
  const scale = r.lossScale ? `, ${lossScaleText(r.lossScale)}` : "";
  return `${fold}epoch ${r.epoch}/${epochs}: loss ${r.loss.total.toFixed(5)}, main ` +
    `${r.loss.main.toFixed(5)}${aux}${val}${scale} (${r.steps} steps, ${r.seconds.toFixed(1)} s)`;
}
