/**
 * Reverse-mode autodiff. Each differentiable op calls `record` with its inputs and a backward
 * rule; `backward` walks the graph in reverse topological order. Gradients accumulate into
 * `.grad` of leaves (as in PyTorch) until zeroed. Each intermediate gradient is freed as soon as
 * its node has passed it on, and each rule's temporaries when the rule returns, so the peak of a
 * training step is the saved activations plus the gradients in flight, not every gradient made.
 */

import { keep, tidy } from "./scope.ts";
import { type GradNode, Tensor } from "./tensor.ts";

let gradDisabled = 0;

export function isGradEnabled(): boolean {
  return gradDisabled === 0;
}

/** Runs `fn` without recording a graph (evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  gradDisabled++;
  try {
    return fn();
  } finally {
    gradDisabled--;
  }
}

/** Attaches a backward rule to `out` when any input needs a gradient. */
export function record(out: Tensor, inputs: Tensor[], op: string, backward: GradNode["backward"]) {
  if (gradDisabled === 0 && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { inputs, backward, op };
  }
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const input of t.node?.inputs ?? []) {
      if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
    }
  }
  return order;
}

function accumulate(into: Tensor | undefined, g: Tensor): Tensor {
  if (!into) return g;
  const sum = Tensor.fromStorage(
    g.backend,
    g.backend.axpby(1, into.storage, 1, g.storage),
    g.shape,
  );
  return sum;
}

/** Back-propagates from `root` (a scalar unless `grad` is given). */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward() on ${root} which does not require grad`);
  if (!grad && root.size !== 1) {
    throw new Error(`backward() needs a scalar, got shape [${root.shape}]; pass a gradient`);
  }
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>();
  const held = new Map<Tensor, number>();
  const hold = (g: Tensor) => held.set(g, (held.get(g) ?? 0) + 1);
  const drop = (g: Tensor) => {
    const n = (held.get(g) ?? 0) - 1;
    if (n > 0) held.set(g, n);
    else held.delete(g);
  };
  const freeIfDead = (g: Tensor) => {
    if (g !== grad && !held.has(g)) g.dispose();
  };
  gradDisabled++;
  try {
    const seed = grad ??
      Tensor.fromStorage(root.backend, root.backend.fill(1, 1, "f32"), root.shape);
    grads.set(root, seed);
    hold(seed);
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      drop(g);
      if (!t.node) {
        const old = t.grad;
        t.grad = keep(old ? accumulate(old, g) : g.withShape(g.shape));
        if (old && old !== t.grad) old.dispose();
        freeIfDead(g);
        continue;
      }
      const node = t.node;
      const inputGrads = tidy(() => node.backward(g));
      const dead: Tensor[] = [g];
      node.inputs.forEach((input, k) => {
        const ig = inputGrads[k];
        if (!ig || !input.requiresGrad) {
          if (ig) dead.push(ig);
          return;
        }
        if (ig.shape.join() !== input.shape.join()) {
          throw new Error(
            `${node.op} backward gave a gradient of [${ig.shape}] for an input of [${input.shape}]`,
          );
        }
        const old = grads.get(input);
        const next = accumulate(old, ig);
        if (old) {
          drop(old);
          dead.push(old, ig);
        }
        grads.set(input, next);
        hold(next);
      });
      t.node = null;
      for (const d of dead) freeIfDead(d);
    }
  } finally {
    gradDisabled--;
  }
}
