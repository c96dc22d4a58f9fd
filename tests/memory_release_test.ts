/**
 * backward() frees each intermediate gradient once its node has passed it on, and each rule's
 * temporaries when the rule returns: across a 60-op chain the live buffers grow by the leaf's
 * gradient and a handful in flight, not by one gradient (and its temporaries) per op, while the
 * gradient itself stays exact. Shared gradients (add's [g, g], an input used twice) survive.
 * Counted on the CPU backends, whose frees are immediate; the gradient is checked everywhere.
 * And a tidy scope whose function throws (a step out of memory) frees what it made.
 */

import { backward } from "../nn/autograd.ts";
import { add, mul, silu } from "../nn/ops/elementwise.ts";
import { sum } from "../nn/ops/reduce.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends } from "./support/backends.ts";

Deno.test("backward frees consumed gradients as it goes; shared ones survive", async () => {
  for (const backend of await allBackends()) {
    const x = tensor(Float32Array.from([0.5, -1, 2, 0.25]), [4], { backend, requiresGrad: true });
    const grew = tidy(() => {
      let y = x;
      for (let i = 0; i < 60; i++) y = i % 2 ? mul(y, 1.01) : silu(add(y, y));
      const loss = sum(y);
      const before = backend.memory().liveBuffers;
      backward(loss);
      return backend.memory().liveBuffers - before;
    });
    // WebGPU hands freed buffers back to its pool only once queued work completes
    if (backend.name !== "webgpu" && grew > 6) {
      throw new Error(`[${backend.name}] backward left ${grew} more live buffers (at most 6)`);
    }
    // the same chain in plain arithmetic: d/dx of silu(2y) is 2 silu'(2y)
    const expected = [0.5, -1, 2, 0.25].map((v) => {
      let y = v;
      let d = 1;
      for (let i = 0; i < 60; i++) {
        if (i % 2) {
          y *= 1.01;
          d *= 1.01;
        } else {
          const z = 2 * y;
          const s = 1 / (1 + Math.exp(-z));
          d *= 2 * s * (1 + z * (1 - s));
          y = z * s;
        }
      }
      return d;
    });
    assertClose(await x.grad!.data(), expected, `[${backend.name}] d/dx`, { rtol: 1e-4 });
    assertEqual(x.grad!.shape, [4], `[${backend.name}] grad shape`);
    x.dispose();
  }
});

Deno.test("tidy frees what a throwing function made, then rethrows", async () => {
  for (const backend of await allBackends()) {
    const before = backend.memory().liveBuffers;
    let made: ReturnType<typeof tensor> | null = null;
    try {
      tidy(() => {
        made = tensor(new Float32Array(8), [8], { backend });
        mul(made, 2);
        throw new Error("out of memory, say");
      });
    } catch (err) {
      assertEqual((err as Error).message, "out of memory, say", `[${backend.name}] rethrown`);
    }
    assertEqual(made!.disposed, true, `[${backend.name}] tensor made inside is disposed`);
    if (backend.name !== "webgpu") {
      assertEqual(backend.memory().liveBuffers, before, `[${backend.name}] live buffers`);
    }
  }
});
