/**
 * A ResNeXt bottleneck block (groups 32, width per group 4, stride 2, downsample shortcut)
 * against PyTorch 1.13: the training-mode output, the gradient of the input and of EVERY
 * parameter, the running statistics it leaves, and the eval-mode output afterwards.
 * Fixture: tools/fixtures/bottleneck.py -> tests/fixtures/bottleneck.safetensors.
 */

import { backward } from "../nn/autograd.ts";
import type { HostTensor } from "../nn/host-tensor.ts";
import { BatchNorm2d } from "../nn/layers/batchnorm.ts";
import { Sequential } from "../nn/layers/container.ts";
import { Conv2d } from "../nn/layers/conv.ts";
import { Bottleneck } from "../nn/models/resnet.ts";
import { mul } from "../nn/ops/elementwise.ts";
import { sum } from "../nn/ops/reduce.ts";
import { readSafetensors } from "../nn/safetensors.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends, withHardwareTiles } from "./support/backends.ts";

const FIXTURE = new URL("./fixtures/bottleneck.safetensors", import.meta.url).pathname;

Deno.test("ResNeXt bottleneck (groups=32) matches PyTorch: output and every gradient", async () => {
  const { tensors } = await readSafetensors(FIXTURE);
  const get = (k: string): HostTensor => {
    const t = tensors.get(k);
    if (!t) throw new Error(`${FIXTURE} lacks ${k}`);
    return t;
  };
  const init = new Map<string, HostTensor>();
  for (const [k, t] of tensors) if (k.startsWith("init.")) init.set(k.slice(5), t);
  const tol = { rtol: 2e-4, atol: 2e-4 };

  for (const backend of await withHardwareTiles(await allBackends())) {
    const label = `bottleneck [${backend.name}]`;
    const downsample = new Sequential(
      new Conv2d(64, 128, 1, { stride: 2, bias: false, backend }),
      new BatchNorm2d(128, { backend }),
    );
    const block = new Bottleneck(64, 32, {
      stride: 2,
      downsample,
      groups: 32,
      baseWidth: 4,
      backend,
    });
    block.loadStateDict(init);
    const x = get("input");
    const input = tensor(x.data, x.shape, { backend, requiresGrad: true });
    const w = get("objective_weights");
    const out = tidy(() => {
      const y = block.forward(input);
      backward(sum(mul(y, tensor(w.data, w.shape, { backend }))));
      return y;
    });
    assertEqual(out.shape, get("output").shape, `${label} output shape`);
    assertClose(await out.data(), get("output").data, `${label} output`, tol);
    assertClose(await input.grad!.data(), get("grad.input").data, `${label} d/d input`, tol);

    const params = block.namedParameters();
    const expectedGrads = [...tensors.keys()].filter((k) =>
      k.startsWith("grad.") && k !== "grad.input"
    );
    assertEqual(params.length, expectedGrads.length, `${label} parameter count`);
    for (const [name, p] of params) {
      if (!p.grad) throw new Error(`${label}: ${name} got no gradient`);
      assertClose(await p.grad.data(), get(`grad.${name}`).data, `${label} d/d ${name}`, tol);
    }
    for (const [name, t] of block.namedBuffers()) {
      const expected = get(`after.${name}`);
      assertClose(await t.data(), expected.data, `${label} ${name} after one step`, tol);
    }
    block.eval();
    const evalOut = tidy(() => block.forward(input.detach()));
    assertClose(await evalOut.data(), get("output_eval").data, `${label} eval output`, tol);

    for (const t of [out, evalOut, input.grad!, input]) t.dispose();
    block.dispose();
  }
});
