/**
 * Module: the unit models are built of, mirroring torch.nn.Module where it matters for
 * interoperability. Parameters, buffers and child modules are registered by name, so every
 * tensor has a dotted path (`layer1.0.conv1.weight`) identical to torchvision's and state dicts
 * load across the two. All tensors of a module live on one backend; there is no `.to()`.
 */

import type { Backend } from "../gpu/backend.ts";
import { denseView } from "../gpu/backend.ts";
import type { HostTensor } from "./host-tensor.ts";
import { toHost } from "./host-tensor.ts";
import { keep } from "./scope.ts";
import { getDefaultBackend, Tensor } from "./tensor.ts";

/** What a state dict may be loaded from: host values (files) or live tensors (another model). */
export type StateSource = HostTensor | Tensor;

export interface LoadStateDictOptions {
  /** Missing and unexpected keys are errors (PyTorch's default). Shape mismatches always are. */
  strict?: boolean;
}

/** Keys that did not match, as PyTorch reports them after a non-strict load. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const NAME = /^[A-Za-z_0-9]+$/;

export class Module {
  /** Training mode: dropout active, batch norm on batch statistics. */
  training = true;
  #params = new Map<string, Tensor>();
  #buffers = new Map<string, Tensor>();
  #children = new Map<string, Module>();
  readonly #fallbackBackend: Backend;

  constructor(backend?: Backend) {
    this.#fallbackBackend = backend ?? getDefaultBackend();
  }

  /** The backend of this module's tensors (or the one it was built for, when it has none). */
  get backend(): Backend {
    for (const [, t] of this.namedTensors()) return t.backend;
    return this.#fallbackBackend;
  }

  #claim(name: string, kind: string): void {
    if (!NAME.test(name)) throw new Error(`${kind} name "${name}" must be letters, digits or _`);
    if (this.#params.has(name) || this.#buffers.has(name) || this.#children.has(name)) {
      throw new Error(`${this.constructor.name} already has a member named "${name}"`);
    }
  }

  #checkBackend(t: Tensor, name: string): void {
    const first = this.namedTensors().next();
    if (!first.done && first.value[1].backend !== t.backend) {
      throw new Error(
        `${name} lives on ${t.backend.name} but ${this.constructor.name}'s tensors on ` +
          `${first.value[1].backend.name}; build a module's parts on one backend`,
      );
    }
  }

  /** Registers a trainable leaf tensor; the module owns it from now on (it survives tidy). */
  protected addParameter(name: string, t: Tensor): Tensor {
    this.#claim(name, "parameter");
    if (t.dtype !== "f32") throw new Error(`parameter ${name} must be f32, got ${t.dtype}`);
    this.#checkBackend(t, name);
    const leaf = t.node ? t.detach() : t;
    if (leaf !== t) t.dispose();
    keep(leaf);
    leaf.requiresGrad = true;
    leaf.name = name;
    this.#params.set(name, leaf);
    return leaf;
  }

  /** Registers state that is saved and loaded but not trained (running statistics). */
  protected addBuffer(name: string, t: Tensor): Tensor {
    this.#claim(name, "buffer");
    this.#checkBackend(t, name);
    keep(t);
    t.requiresGrad = false;
    t.name = name;
    this.#buffers.set(name, t);
    return t;
  }

  /** Swaps a buffer for a new tensor of the same shape, freeing the old one. */
  protected replaceBuffer(name: string, t: Tensor): Tensor {
    const old = this.#buffers.get(name);
    if (!old) throw new Error(`${this.constructor.name} has no buffer "${name}"`);
    if (old.shape.join() !== t.shape.join() || old.dtype !== t.dtype) {
      throw new Error(
        `buffer ${name}: [${t.shape}] ${t.dtype} cannot replace [${old.shape}] ${old.dtype}`,
      );
    }
    keep(t);
    t.name = old.name;
    this.#buffers.set(name, t);
    if (old !== t) old.dispose();
    return t;
  }

  protected buffer(name: string): Tensor {
    const t = this.#buffers.get(name);
    if (!t) throw new Error(`${this.constructor.name} has no buffer "${name}"`);
    return t;
  }

  /** Registers a child; its tensors are renamed under `name.` so their paths stay dotted. */
  protected addModule<M extends Module>(name: string, m: M): M {
    this.#claim(name, "module");
    for (const [path, t] of m.namedTensors()) {
      this.#checkBackend(t, `${name}.${path}`);
      break;
    }
    this.#children.set(name, m);
    for (const [path, t] of m.namedTensors()) t.name = `${name}.${path}`;
    return m;
  }

  /** Every parameter and buffer with its path, in state-dict order. */
  *namedTensors(prefix = ""): Generator<[string, Tensor]> {
    for (const [n, t] of this.#params) yield [prefix + n, t];
    for (const [n, t] of this.#buffers) yield [prefix + n, t];
    for (const [n, m] of this.#children) yield* m.namedTensors(`${prefix}${n}.`);
  }

  /** Parameters with dotted paths, in PyTorch's `named_parameters()` order. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      const p = path ? `${path}.` : "";
      for (const [n, t] of m.#params) out.push([p + n, t]);
    }
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.namedModules(prefix)) {
      const p = path ? `${path}.` : "";
      for (const [n, t] of m.#buffers) out.push([p + n, t]);
    }
    return out;
  }

  /** This module and all below it, pre-order, with paths ("" for this one). */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.#children) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  children(): Module[] {
    return [...this.#children.values()];
  }

  /** Sets training mode here and in every descendant. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The live parameters and buffers by path (not copies): PyTorch's `state_dict()` keys. */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedTensors());
  }

  /** The state dict copied to the host in one round trip, e.g. for saving. */
  stateDictHost(): Promise<Map<string, HostTensor>> {
    return toHost(this.namedTensors());
  }

  /**
   * Copies values into this module's tensors in place (optimisers holding them stay valid).
   * Everything is checked before anything is written; the error lists every offending key.
   */
  loadStateDict(
    source: ReadonlyMap<string, StateSource> | Record<string, StateSource>,
    { strict = true }: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const given = source instanceof Map
      ? source as ReadonlyMap<string, StateSource>
      : new Map(Object.entries(source));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing key(s): ${missingKeys.join(", ")}`);
    if (strict && unexpectedKeys.length) {
      problems.push(`unexpected key(s): ${unexpectedKeys.join(", ")}`);
    }
    for (const [key, dst] of own) {
      const src = given.get(key);
      if (!src) continue;
      if (src.shape.join() !== dst.shape.join()) {
        problems.push(`size mismatch for ${key}: given [${src.shape}], model has [${dst.shape}]`);
      } else if (src instanceof Tensor && src.backend !== dst.backend) {
        problems.push(`${key} is on ${src.backend.name}, model on ${dst.backend.name}`);
      }
    }
    if (problems.length) {
      throw new Error(`loading state dict into ${this.constructor.name}: ${problems.join("; ")}`);
    }
    for (const [key, dst] of own) {
      const src = given.get(key);
      if (src) copyValues(dst, src);
    }
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every gradient, so the next backward starts from zero. */
  zeroGrad(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
    }
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.size, 0);
  }

  /** Frees every parameter, gradient and buffer; the module is unusable afterwards. */
  dispose(): void {
    this.zeroGrad();
    for (const [, t] of this.namedTensors()) t.dispose();
  }
}

/** Writes `src` into `dst`'s storage, converting between f32 and i32 as a load must. */
function copyValues(dst: Tensor, src: StateSource): void {
  const backend = dst.backend;
  let storage;
  let owned = true;
  if (src instanceof Tensor) {
    if (src.storage === dst.storage) return;
    if (src.dtype === dst.dtype) {
      storage = src.storage;
      owned = false;
    } else storage = backend.cast(src.storage, dst.dtype);
  } else {
    const data = src.dtype === dst.dtype
      ? src.data
      : dst.dtype === "f32"
      ? Float32Array.from(src.data)
      : Int32Array.from(src.data, Math.round);
    storage = backend.upload(data);
  }
  backend.copyInto(storage, dst.storage, denseView(dst.shape));
  if (owned) backend.free(storage);
}

/** A module with one input and one output: what Sequential chains. */
export abstract class Layer extends Module {
  abstract forward(x: Tensor): Tensor;
}
