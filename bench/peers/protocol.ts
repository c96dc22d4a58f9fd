/**
 * How the benchmark talks to a peer running in its own process: one JSON request as the last
 * argument, one JSON line per event on stdout. A separate process keeps a peer's device, threads
 * and memory from disturbing our columns, lets a call that runs far past the budget be killed
 * (a synchronous tfjs-cpu step cannot be interrupted any other way), and a crashed peer costs
 * one column, not the table.
 */

import { fmtS, type Measurement } from "../measure.ts";
import { CALIBRATION, CALIBRATION_FLOPS, type WorkloadSpec } from "../specs.ts";
import type { Column } from "../table.ts";

export type PeerColumn = Column;

export interface PeerRequest {
  workloads: WorkloadSpec[];
  warmup: number;
  runs: number;
  budgetS: number;
  threads: number;
  /** See MeasureOptions.estimateSlack. */
  estimateSlack: number;
  calibration: typeof CALIBRATION;
  calibrationFlops: number;
  /** PyTorch's device ("cpu" unless the torch-cuda column asks for "cuda"). */
  device?: string;
}

/** Peers' hung calls are killed (below), so their guesses may be loose. */
const PEER_ESTIMATE_SLACK = 10;

export function makeRequest(
  workloads: WorkloadSpec[],
  o: { warmup: number; runs: number; budgetS: number; threads: number },
): PeerRequest {
  return {
    workloads,
    ...o,
    estimateSlack: PEER_ESTIMATE_SLACK,
    calibration: CALIBRATION,
    calibrationFlops: CALIBRATION_FLOPS,
  };
}

/** What a peer prints: its description, the row it starts, its first call's time, a result. */
export type PeerLine =
  | { info: string }
  | { start: string }
  | { first: string; seconds: number }
  | ({ id: string } & Measurement);

/** Seconds a peer gets to start (npm loading, device creation, calibration). */
const STARTUP_S = 120;

/** Kills a row whose first call takes over half the budget, or whose calls together run past
 * twice the budget (the peer itself would skip it; this is for calls that never return). */
function rowLimitS(budgetS: number, firstDone: boolean): number {
  return firstDone ? 2 * budgetS : budgetS / 2;
}

/** Runs a peer until every row has a result, restarting it past a row that had to be killed. */
export async function runPeerProcess(
  name: string,
  command: string,
  args: string[],
  request: PeerRequest,
): Promise<PeerColumn> {
  const column: PeerColumn = { name, info: "", rows: new Map() };
  let todo = request.workloads;
  while (todo.length) {
    const killed = await runOnce(column, command, args, { ...request, workloads: todo });
    if (killed === null) break;
    todo = todo.filter((w) => !column.rows.has(w.id));
  }
  return column;
}

/** One child process; returns the row it killed, or null when the child ended by itself. */
async function runOnce(
  column: PeerColumn,
  command: string,
  args: string[],
  request: PeerRequest,
): Promise<string | null> {
  const child = new Deno.Command(command, {
    args: [...args, JSON.stringify(request)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let current: string | null = null;
  let killed: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (seconds: number, why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      killed = current ?? "";
      if (current) column.rows.set(current, { kind: "skipped", reason: why });
      child.kill("SIGKILL");
    }, seconds * 1000);
  };
  arm(STARTUP_S, `no start within ${STARTUP_S} s`);
  const stderr = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of child.stdout) {
    pending += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const msg = JSON.parse(line) as PeerLine;
      if ("info" in msg) column.info = msg.info;
      else if ("start" in msg) {
        current = msg.start;
        const limit = rowLimitS(request.budgetS, false);
        arm(limit, `first call still running after ${fmtS(limit)}`);
      } else if ("first" in msg) {
        const limit = rowLimitS(request.budgetS, true);
        arm(limit, `calls still running after ${fmtS(limit)}`);
      } else {
        const { id, ...m } = msg;
        column.rows.set(id, m as Measurement);
      }
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  if (killed !== null && killed !== "") return killed;
  const errText = (await stderr).trim().split("\n").filter((l) => l.trim()).slice(-2).join(" | ");
  const why = killed === ""
    ? `did not start within ${STARTUP_S} s`
    : `exited with code ${status.code}${errText ? `: ${errText}` : ""}`;
  if (column.rows.size === 0 && (killed === "" || !status.success)) column.unavailable = why;
  for (const w of request.workloads) {
    if (!column.rows.has(w.id)) column.rows.set(w.id, { kind: "error", reason: why });
  }
  return null;
}
