/**
 * What every optimiser shares: the parameter list, a settable learning rate (schedulers write
 * `lr`), gradient clearing, in-place steps under noGrad, and per-parameter state that survives
 * `tidy()` (it is `keep()`-ed) and round-trips through a state dict for checkpoints.
 */

import { denseView } from "../../gpu/backend.ts";
import { noGrad } from "../autograd.ts";
import { keep } from "../scope.ts";
import { Tensor } from "../tensor.ts";

/** The state of one parameter: updates applied so far and its named buffers. */
export interface ParamState {
  step: number;
  buffers: Record<string, Tensor>;
}

/**
 * A checkpointable snapshot keyed by parameter index (the order given to the constructor).
 * The tensors are the optimiser's live buffers, not copies: read or save them before the next
 * `step()`.
 */
export interface OptimizerStateDict {
  kind: string;
  lr: number;
  state: Record<number, ParamState>;
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  lr: number;
  /** "sgd" or "adam": a state dict only loads into an optimiser of its own kind. */
  abstract readonly kind: string;
  protected readonly state = new Map<number, ParamState>();

  constructor(params: readonly Tensor[], lr: number) {
    if (params.length === 0) throw new Error("optimiser given no parameters");
    if (new Set(params).size !== params.length) {
      throw new Error("optimiser given the same parameter twice");
    }
    params.forEach((p, i) => {
      if (p.dtype !== "f32") {
        throw new Error(`optimiser parameter ${i} (${p.name || `[${p.shape}]`}) is ${p.dtype}`);
      }
    });
    checkLr(lr);
    this.params = [...params];
    this.lr = lr;
  }

  /** Frees every gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Updates every parameter that has a gradient, in place; the others are left alone. */
  step(): void {
    checkLr(this.lr);
    noGrad(() => {
      this.params.forEach((p, i) => {
        const g = p.grad;
        if (!g) return;
        if (g.size !== p.size || g.dtype !== "f32" || g.backend !== p.backend) {
          throw new Error(
            `optimiser: gradient ${g} does not match parameter ${i} ${p}`,
          );
        }
        let st = this.state.get(i);
        if (!st) this.state.set(i, st = { step: 0, buffers: {} });
        st.step++;
        this.update(p, g, st);
      });
    });
  }

  /** Applies one update of `param` with `grad`; `st.step` is already the 1-based count. */
  protected abstract update(param: Tensor, grad: Tensor, st: ParamState): void;

  /** A zero buffer shaped like `param`, owned by this optimiser. */
  protected buffer(param: Tensor): Tensor {
    const b = param.backend;
    return keep(Tensor.fromStorage(b, b.zeros(param.size, "f32"), param.shape));
  }

  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    for (const [i, st] of this.state) state[i] = { step: st.step, buffers: { ...st.buffers } };
    return { kind: this.kind, lr: this.lr, state };
  }

  /** Restores lr and state from copies of the given tensors (the caller keeps its own). */
  loadStateDict(dict: OptimizerStateDict): void {
    if (dict.kind !== this.kind) {
      throw new Error(`cannot load a "${dict.kind}" state dict into a "${this.kind}" optimiser`);
    }
    checkLr(dict.lr);
    const loaded = new Map<number, ParamState>();
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
      const buffers: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(st.buffers)) {
        if (t.shape.join() !== p.shape.join() || t.dtype !== "f32" || t.backend !== p.backend) {
          throw new Error(
            `optimiser state ${i}.${name}: ${t} does not match parameter ${p}`,
          );
        }
        const copy = t.backend.gather(t.storage, denseView(t.shape));
        buffers[name] = keep(Tensor.fromStorage(t.backend, copy, t.shape));
      }
      loaded.set(i, { step: st.step, buffers });
    }
    this.dispose();
    for (const [i, st] of loaded) this.state.set(i, st);
    this.lr = dict.lr;
  }

  /** Frees the optimiser's state (not the parameters). */
  dispose(): void {
    for (const st of this.state.values()) {
      for (const t of Object.values(st.buffers)) t.dispose();
    }
    this.state.clear();
  }
}

function checkLr(lr: number): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`invalid learning rate ${lr}`);
}
