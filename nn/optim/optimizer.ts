/**
 * What every optimiser shares: the parameter list, a settable learning rate (schedulers write
 * `lr`), gradient clearing, in-place steps under noGrad, and state that survives `tidy()` (it is
 * `keep()`-ed) and round-trips through a state dict for checkpoints.
 *
 * The state of consecutive parameters lies end to end in shared buffers (Adam's `m` and `v`,
 * SGD's `momentum`), so a step updates them with one registry call (`sgdStepGroup`,
 * `adamStepGroup`): on WebGPU one dispatch per shard instead of one per parameter. A shard holds
 * at most SHARD_ELEMENTS (a larger parameter has one of its own), so no buffer outgrows what an
 * adapter can bind. Consecutive parameters of a shard that share a step count and the same filled
 * buffers form one call; a parameter without a gradient is left alone and splits the call there.
 */

import type { LossScaling, Storage, StridedView } from "../../gpu/backend.ts";
import { noGrad } from "../autograd.ts";
import { keep } from "../scope.ts";
import { Tensor } from "../tensor.ts";

/** The state of one parameter in a state dict: updates applied so far and its buffers. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/**
 * A checkpointable snapshot keyed by parameter index (the order given to the constructor).
 * `stateDict()` returns copies of the optimiser's buffers that the caller owns (dispose them);
 * `loadStateDict` copies what it is given.
 */
export interface OptimizerStateDict {
  kind: string;
  lr: number;
  state: Record<number, ParamState>;
}

/** What one call of `updateGroup` is given: consecutive parameters that step alike. */
export interface GroupRun {
  params: Tensor[];
  grads: Tensor[];
  /** Which shard's buffers hold the members' state, and where the first one's starts. */
  shard: number;
  base: number;
  /** The 1-based update count every member is at. */
  step: number;
  /** The buffers whose segments already hold these members' state. */
  filled: ReadonlySet<string>;
  /** A loss-scaled step's scaling (nn/optim/loss-scaler.ts), handed to the update kernel. */
  scaling?: LossScaling;
}

interface Member {
  step: number;
  filled: Set<string>;
}

/**
 * 16 Mi elements (64 MiB) per state buffer: under the 128 MiB storage binding every WebGPU
 * adapter grants, and few enough shards (6 for ResNeXt-101's 87 M parameters) to keep the
 * dispatches few.
 */
export const SHARD_ELEMENTS = 1 << 24;

/** Where each parameter's state lives: consecutive parameters fill a shard up to `cap`. */
export function shardLayout(
  sizes: readonly number[],
  cap = SHARD_ELEMENTS,
): { places: { shard: number; offset: number }[]; shardSizes: number[] } {
  const places: { shard: number; offset: number }[] = [];
  const shardSizes: number[] = [];
  for (const size of sizes) {
    const last = shardSizes.length - 1;
    if (last >= 0 && shardSizes[last] + size <= cap) {
      places.push({ shard: last, offset: shardSizes[last] });
      shardSizes[last] += size;
    } else {
      places.push({ shard: shardSizes.length, offset: 0 });
      shardSizes.push(size);
    }
  }
  return { places, shardSizes };
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  lr: number;
  /** "sgd" or "adam": a state dict only loads into an optimiser of its own kind. */
  abstract readonly kind: string;
  readonly #places: { shard: number; offset: number }[];
  readonly #shardSizes: number[];
  #members: Member[];
  #buffers = new Map<string, Tensor>();

  /** `shardElements` caps each state buffer (default SHARD_ELEMENTS). */
  constructor(params: readonly Tensor[], lr: number, shardElements = SHARD_ELEMENTS) {
    if (params.length === 0) throw new Error("optimiser given no parameters");
    if (new Set(params).size !== params.length) {
      throw new Error("optimiser given the same parameter twice");
    }
    const backend = params[0].backend;
    params.forEach((p, i) => {
      if (p.dtype !== "f32") {
        throw new Error(`optimiser parameter ${i} (${p.name || `[${p.shape}]`}) is ${p.dtype}`);
      }
      if (p.backend !== backend) {
        throw new Error(
          `optimiser parameter ${i} (${p.name || `[${p.shape}]`}) is on another backend`,
        );
      }
    });
    checkLr(lr);
    if (!Number.isInteger(shardElements) || shardElements < 1) {
      throw new Error(`optimiser: invalid shard size ${shardElements}`);
    }
    this.params = [...params];
    this.lr = lr;
    ({ places: this.#places, shardSizes: this.#shardSizes } = shardLayout(
      params.map((p) => p.size),
      shardElements,
    ));
    this.#members = params.map(() => ({ step: 0, filled: new Set() }));
  }

  /** Frees every gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Updates every parameter that has a gradient, in place; the others are left alone. Given a
   * loss scaling (use LossScaler.step), the gradients are unscaled on the device and the update
   * is skipped there after an overflow; the host's step counts move on either way.
   */
  step(scaling?: LossScaling): void {
    checkLr(this.lr);
    const ready = this.params.map((p, i) => {
      const g = p.grad;
      if (g && (g.size !== p.size || g.dtype !== "f32" || g.backend !== p.backend)) {
        throw new Error(`optimiser: gradient ${g} does not match parameter ${i} ${p}`);
      }
      return g !== null;
    });
    noGrad(() => {
      let start = 0;
      while (start < this.params.length) {
        if (!ready[start]) {
          start++;
          continue;
        }
        let end = start + 1;
        while (end < this.params.length && ready[end] && this.#alike(start, end)) end++;
        this.#update(start, end, scaling);
        start = end;
      }
    });
  }

  #alike(a: number, b: number): boolean {
    const [x, y] = [this.#members[a], this.#members[b]];
    return this.#places[a].shard === this.#places[b].shard && x.step === y.step &&
      x.filled.size === y.filled.size &&
      [...x.filled].every((name) => y.filled.has(name));
  }

  #update(start: number, end: number, scaling: LossScaling | undefined): void {
    const members = this.#members.slice(start, end);
    for (const m of members) m.step++;
    const params = this.params.slice(start, end);
    this.updateGroup({
      params,
      grads: params.map((p) => p.grad!),
      shard: this.#places[start].shard,
      base: this.#places[start].offset,
      step: members[0].step,
      filled: new Set(members[0].filled),
      scaling,
    });
    for (const m of members) for (const name of this.bufferNames()) m.filled.add(name);
  }

  /** The buffers an update reads and writes, e.g. ["m", "v"]. */
  protected abstract bufferNames(): readonly string[];

  /** Applies one update to consecutive parameters that step alike. */
  protected abstract updateGroup(run: GroupRun): void;

  /** Shard `shard` of the buffer `name` (its parameters' state end to end), zeros at first. */
  protected buffer(name: string, shard: number): Tensor {
    const key = `${name}/${shard}`;
    let t = this.#buffers.get(key);
    if (!t) {
      const b = this.params[0].backend;
      const size = this.#shardSizes[shard];
      t = keep(Tensor.fromStorage(b, b.zeros(size, "f32"), [size]));
      this.#buffers.set(key, t);
    }
    return t;
  }

  /** Parameter i's state in buffer `name`: its shard's storage and its view there. */
  #segment(name: string, i: number): { storage: Storage; view: StridedView } {
    const { shard, offset } = this.#places[i];
    const view = { shape: [this.params[i].size], strides: [1], offset };
    return { storage: this.buffer(name, shard).storage, view };
  }

  /** Copies of the state of every stepped parameter: the caller owns (and disposes) them. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    this.#members.forEach((m, i) => {
      if (m.step === 0 && m.filled.size === 0) return;
      const p = this.params[i];
      const buffers: Record<string, Tensor> = {};
      for (const name of m.filled) {
        const { storage, view } = this.#segment(name, i);
        const copy = p.backend.gather(storage, view);
        buffers[name] = Tensor.fromStorage(p.backend, copy, p.shape);
      }
      state[i] = { step: m.step, buffers };
    });
    return { kind: this.kind, lr: this.lr, state };
  }

  /** Restores lr and state from copies of the given tensors (the caller keeps its own). */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.kind !== this.kind) {
      throw new Error(`cannot load a "${dict.kind}" state dict into a "${this.kind}" optimiser`);
    }
    checkLr(dict.lr);
    const entries: [number, ParamState][] = [];
    for (const [key, st] of Object.entries(dict.state)) {
      const i = Number(key);
      const p = this.params[i];
      if (!Number.isInteger(i) || !p) {
        throw new Error(
          `optimiser state for parameter ${key}, but there are ${this.params.length}`,
        );
      }
      if (!Number.isInteger(st.step) || st.step < 0) {
        throw new Error(`optimiser state of parameter ${i}: invalid step ${st.step}`);
      }
      for (const [name, t] of Object.entries(st.buffers)) {
        if (t.shape.join() !== p.shape.join() || t.dtype !== "f32" || t.backend !== p.backend) {
          throw new Error(
            `optimiser state ${i}.${name}: ${t} does not match parameter ${p}`,
          );
        }
      }
      entries.push([i, st]);
    }
    this.dispose();
    for (const [i, st] of entries) {
      const m = this.#members[i];
      m.step = st.step;
      for (const [name, t] of Object.entries(st.buffers)) {
        const { storage, view } = this.#segment(name, i);
        t.backend.copyInto(t.storage, storage, view);
        m.filled.add(name);
      }
    }
    this.lr = dict.lr;
  }

  /** Frees the optimiser's state (not the parameters): the next step starts afresh. */
  dispose(): void {
    for (const t of this.#buffers.values()) t.dispose();
    this.#buffers.clear();
    this.#members = this.params.map(() => ({ step: 0, filled: new Set() }));
  }
}

function checkLr(lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`invalid learning rate ${lr}`);
}
