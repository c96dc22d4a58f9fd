import { manualSeed } from "../nn/random.ts";
import { tidy } from "../nn/scope.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { resolveDebias } from "../debias/config.ts";
import {
  AuxiliaryHead,
  biasLogits,
  buildBiasHeads,
  LabelAwareHead,
  MainHead,
  SpatialBiasHead,
} from "../debias/heads.ts";
import { inverseFrequencyWeights } from "../debias/losses.ts";
import { disposeBatch, makeDebiasStep, uploadBatch } from "../debias/train-step.ts";
import { allBackends, cpu } from "./support/backends.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { batch, FEAT, N, RecordingEncoder } from "./support/debias-net.ts";

const read = async (t: Tensor) => Float32Array.from(await t.data());

Deno.test("label-aware head: zero offsets at start, logits = features' logits + offset row", async () => {
  manualSeed(1);
  const head = new LabelAwareHead(new AuxiliaryHead(3, 2, { backend: cpu }), 2, 2);
  assertEqual(head.parameters().length, 3, "inner weight, inner bias, offsets");
  assertClose(await read(head.offsets), new Float32Array(4), "offsets start at zero");
  head.loadStateDict(
    { offsets: tensor(Float32Array.of(0.5, -1, 2, 3), [2, 2], { backend: cpu }) },
    {
      strict: false,
    },
  );
  const feat = tensor(Float32Array.of(1, 2, 3, -1, 0, 1), [2, 3], { backend: cpu });
  const oneHot = tensor(Float32Array.of(0, 1, 1, 0), [2, 2], { backend: cpu });
  const inner = await read(head.forward(feat));
  const withLabel = await read(head.forwardWithLabel(feat, oneHot));
  assertClose(withLabel, inner.map((v, i) => v + [2, 3, 0.5, -1][i]), "row of each item's label");
});

Deno.test("uploadBatch: a one-hot of the labels only for label-aware heads; bad labels named", () => {
  const settings = resolveDebias({ debiasConfig: "LNTL", GRL: true });
  const common = { kind: "linear" as const, inFeatures: FEAT, trainBias: batch().bias };
  const plain = buildBiasHeads(settings.heads, { ...common, backend: cpu });
  const aware = buildBiasHeads(settings.heads, { ...common, backend: cpu, labelAware: 2 });
  const a = uploadBatch(batch(), plain, cpu);
  assertEqual(a.labelOneHot, null, "plain heads get no one-hot");
  disposeBatch(a);
  const b = uploadBatch(batch(), aware, cpu);
  assertEqual(b.labelOneHot?.shape.join("x"), `${N}x2`, "one-hot shape");
  disposeBatch(b);
  const bad = batch();
  bad.labels[5] = 2;
  assertThrows(() => uploadBatch(bad, aware, cpu), /label 2 of batch item 5/, "label outside");
  assertThrows(
    () => tidy(() => biasLogits(aware[0], tensor(new Float32Array(N * FEAT), [N, FEAT]), null)),
    /given no label one-hot/,
    "label-aware head without a label",
  );
});

Deno.test("label-aware LNTL+GRL step: the offsets get phase 2's cross-entropy gradient", async () => {
  for (const backend of await allBackends()) {
    manualSeed(5);
    const settings = resolveDebias({ debiasConfig: "LNTL", GRL: true, lrBase: 0.05 });
    const encoder = new RecordingEncoder(backend);
    const main = new MainHead(FEAT, 1, { backend });
    const data = batch();
    const heads = buildBiasHeads(settings.heads, {
      kind: "linear",
      inFeatures: FEAT,
      trainBias: data.bias,
      labelAware: 2,
      backend,
    });
    const head = heads[0].module as LabelAwareHead;
    const inner = head.inner as AuxiliaryHead;
    const before = await inner.stateDictHost();
    const { step } = makeDebiasStep({ encoder, main, heads }, settings);
    const device = uploadBatch(data, heads, backend);
    step(device);
    disposeBatch(device);
    // By hand: z = inner(f2) (offsets are zero before the step), p = softmax(z), and the weighted
    // mean cross-entropy's gradient on the offsets is sum_i w_i (p_i - e_b_i) over rows of y_i,
    // divided by sum_i w_i.
    const fresh = new AuxiliaryHead(FEAT, 2, { backend });
    fresh.loadStateDict(before);
    const z = await read(fresh.forward(encoder.outputs[1]));
    const w = inverseFrequencyWeights(data.bias.marked, 2);
    const want = new Float32Array(4);
    let wSum = 0;
    for (let i = 0; i < N; i++) {
      const b = data.bias.marked[i], y = data.labels[i], wi = w[b];
      const e0 = Math.exp(z[2 * i]), e1 = Math.exp(z[2 * i + 1]);
      const p = [e0 / (e0 + e1), e1 / (e0 + e1)];
      for (let k = 0; k < 2; k++) want[2 * y + k] += wi * (p[k] - (k === b ? 1 : 0));
      wSum += wi;
    }
    assertClose(await read(head.offsets.grad!), want.map((v) => v / wSum), `${backend.name}`);
    // Phase 2's encoder gradient is reversed and scaled, as for a plain head: the offsets take
    // no part in it beyond the logits they shift.
    const g = await read(encoder.fc.weight.grad!);
    if (!g.some((v) => Math.abs(v) > 1e-7)) throw new Error(`${backend.name}: no encoder grad`);
    for (const m of [encoder, main, head]) m.dispose();
  }
});

Deno.test("label-aware heads wrap every head kind", () => {
  const common = { inFeatures: FEAT, trainBias: batch().bias, labelAware: 3, backend: cpu };
  const specs = resolveDebias({ debiasConfig: "doubleTABE" }).heads;
  for (const kind of ["linear", "deep", "spatial"] as const) {
    const heads = buildBiasHeads(specs, { ...common, kind });
    assertEqual(heads.length, 2, `${kind}: two heads`);
    for (const h of heads) {
      const m = h.module as LabelAwareHead;
      assertEqual(m instanceof LabelAwareHead, true, `${kind}: wrapped`);
      assertEqual(m.offsets.shape.join("x"), "3x2", `${kind}: offsets [labels, classes]`);
      const inner = m.inner;
      const innerKind = inner instanceof SpatialBiasHead
        ? "spatial"
        : (inner as AuxiliaryHead).hidden
        ? "deep"
        : "linear";
      assertEqual(innerKind, kind, `${kind}: the wrapped head is of the asked kind`);
    }
  }
});
