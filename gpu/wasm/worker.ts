/**
 * A kernel thread of the WASM backend: instantiates the kernels over the shared memory, then
 * loops forever: wait for the next dispatch, run its share, count itself done. It never returns
 * to its event loop, so all coordination is through Atomics on the control block.
 */

import { parentPort, workerData } from "node:worker_threads";
import { CONTROL_SLOTS, DONE, ERR, FN, GEN, NT, PARAM, type WorkerInit } from "./control.ts";
import { instantiate, type TaskFn } from "./module.ts";
import { hostTasks } from "./blas-task.ts";

const init = workerData as WorkerInit;
const exports = instantiate(init.module, init.memory);
const host = hostTasks(init.memory, init.blas);
const tasks = init.names.map((n) => host.get(n) ?? exports[n] as TaskFn);
const ctl = new Int32Array(init.memory.buffer, init.control, CONTROL_SLOTS);

// Read the generation before saying ready: the dispatcher may bump it as soon as it hears us,
// and a worker that read it afterwards would wait for the next dispatch and hang this one.
let seen = Atomics.load(ctl, GEN);
parentPort!.postMessage("ready");
for (;;) {
  let polls = 0;
  while (Atomics.load(ctl, GEN) === seen) {
    if (++polls > init.spin) Atomics.wait(ctl, GEN, seen);
  }
  seen = Atomics.load(ctl, GEN);
  const fn = Atomics.load(ctl, FN);
  if (fn < 0) break;
  try {
    tasks[fn](Atomics.load(ctl, PARAM), init.tid, Atomics.load(ctl, NT));
  } catch (err) {
    Atomics.store(ctl, ERR, init.tid + 1);
    parentPort!.postMessage(`${init.names[fn]} failed on worker ${init.tid}: ${err}`);
  }
  Atomics.add(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
}
