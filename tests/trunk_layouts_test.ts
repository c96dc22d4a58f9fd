/**
 * The study's trunks have torchvision's / timm's state dicts exactly: for each, the key count, a
 * sha256 of its "name shape" lines in order and the parameter counts with and without the
 * classifier equal what tools/fixtures/trunks.py read off torchvision (timm's names for
 * EfficientNet, through the generator's name map). Models are built on a shape-only backend, so
 * the 88 M parameters of ResNeXt-101 cost nothing. Also: the registry builds each as an encoder
 * of the documented width, and EfficientNet's optional stochastic depth behaves as timm's.
 */

import * as assert from "node:assert/strict";
import { backward } from "../nn/autograd.ts";
import type { Layer } from "../nn/module.ts";
import { densenet121, densenet161 } from "../nn/models/densenet.ts";
import { dropPath } from "../nn/models/efficientnet-blocks.ts";
import { efficientnet } from "../nn/models/efficientnet.ts";
import { inceptionV3 } from "../nn/models/inception.ts";
import { INCEPTION_NORMALISATION, resolveTrunkName, trunkEntry } from "../nn/models/registry.ts";
import { resnet101, resnet18, resnext101_32x8d, resnext50_32x4d } from "../nn/models/resnet.ts";
import { sum } from "../nn/ops/reduce.ts";
import { manualSeed } from "../nn/random.ts";
import { tensor } from "../nn/tensor.ts";
import { cpu } from "./support/backends.ts";
import { shapeBackend } from "./support/shape-backend.ts";

interface Layout {
  name: string;
  keys: number;
  sha256: string;
  parameters: number;
  parametersWithoutClassifier: number;
}

const FIXTURE = new URL("./fixtures/trunks.json", import.meta.url);
const { layouts } = JSON.parse(await Deno.readTextFile(FIXTURE)) as { layouts: Layout[] };

type Build = (numClasses: number) => Layer;
const BUILDERS: Record<string, (backend: ReturnType<typeof shapeBackend>) => Build> = {
  resnet18: (backend) => (numClasses) => resnet18({ numClasses, backend }),
  resnext50_32x4d: (backend) => (numClasses) => resnext50_32x4d({ numClasses, backend }),
  resnet101: (backend) => (numClasses) => resnet101({ numClasses, backend }),
  resnext101_32x8d: (backend) => (numClasses) => resnext101_32x8d({ numClasses, backend }),
  densenet121: (backend) => (numClasses) => densenet121({ numClasses, backend }),
  densenet161: (backend) => (numClasses) => densenet161({ numClasses, backend }),
  inception_v3: (backend) => (numClasses) => inceptionV3({ numClasses, backend }),
  ...Object.fromEntries(
    Array.from({ length: 8 }, (_, i) => `efficientnet_b${i}`).map((name) => [
      name,
      (backend: ReturnType<typeof shapeBackend>) => (numClasses: number) =>
        efficientnet(name, { numClasses, backend }),
    ]),
  ),
};

async function digest(model: Layer): Promise<string> {
  const lines = [...model.namedTensors()].map(([k, t]) => `${k} ${t.shape.join(",")}\n`);
  const bytes = new TextEncoder().encode(lines.join(""));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("trunk layouts: keys, shapes and parameter counts equal torchvision's / timm's", async () => {
  assert.deepEqual(layouts.map((l) => l.name).sort(), Object.keys(BUILDERS).sort());
  const backend = shapeBackend();
  for (const l of layouts) {
    const build = BUILDERS[l.name](backend);
    const full = build(1000);
    const keys = [...full.namedTensors()].length;
    assert.equal(keys, l.keys, `${l.name}: state-dict keys`);
    assert.equal(
      await digest(full),
      l.sha256,
      `${l.name}: key names or shapes differ from torchvision's (compare with ` +
        `/usr/bin/python3 tools/fixtures/trunks.py --list ${l.name})`,
    );
    assert.equal(full.numParameters(), l.parameters, `${l.name}: parameters with classifier`);
    full.dispose();
    const bare = build(0);
    assert.equal(bare.numParameters(), l.parametersWithoutClassifier, `${l.name}: without`);
    bare.dispose();

    const entry = trunkEntry(l.name);
    const trunk = entry.build({ backend });
    assert.equal(trunk.encoder.numParameters(), l.parametersWithoutClassifier, `${l.name} encoder`);
    assert.equal(trunk.features, entry.features, `${l.name}: features`);
    trunk.encoder.dispose();
  }
  assert.equal(backend.memory().liveBuffers, 0, "every shape-only storage freed");
});

Deno.test("trunk registry: the study's trunks resolve, with their widths and normalisation", () => {
  const expect: [string, string | undefined, string, number][] = [
    ["resnext101", undefined, "resnext101_32x8d", 2048],
    ["resnet101", undefined, "resnet101", 2048],
    ["enet", "efficientnet_b3", "efficientnet_b3", 1536],
    ["enet", "efficientnet_b0", "efficientnet_b0", 1280],
    ["enet", "efficientnet_b7", "efficientnet_b7", 2560],
    ["densenet", undefined, "densenet161", 2208],
    ["densenet121", undefined, "densenet121", 1024],
    ["inception", undefined, "inception_v3", 2048],
  ];
  for (const [arch, enet, name, features] of expect) {
    assert.equal(resolveTrunkName(arch, enet), name, `${arch} ${enet ?? ""}`);
    assert.equal(trunkEntry(name).features, features, name);
  }
  const inception = trunkEntry("inception_v3");
  assert.equal(inception.inputSize, 299);
  assert.deepEqual(inception.normalisation, INCEPTION_NORMALISATION);
  assert.deepEqual(trunkEntry("efficientnet_b3").weights, {
    prefix: "",
    dropped: ["classifier.weight", "classifier.bias"],
    timm: "efficientnet_b3.ra2_in1k",
  });
  assert.equal(trunkEntry("efficientnet_b7").weights.timm, undefined);
  assert.equal(trunkEntry("densenet161").weights.timm, "densenet161.tv_in1k");
});

Deno.test("EfficientNet stochastic depth: off by default, timm's per-block rates, per sample", async () => {
  const backend = shapeBackend();
  const plain = efficientnet("efficientnet_b0", { numClasses: 0, backend });
  const rates = (m: Layer) =>
    m.namedModules().map(([, b]) => (b as { dropPathRate?: number }).dropPathRate)
      .filter((r): r is number => r !== undefined);
  assert.ok(rates(plain).every((r) => r === 0));
  const dropping = efficientnet("efficientnet_b0", { numClasses: 0, dropPath: 0.2, backend });
  const r = rates(dropping);
  assert.equal(r.length, 16);
  r.forEach((v, i) => assert.ok(Math.abs(v - (0.2 * i) / 16) < 1e-12, `block ${i}: ${v}`));
  plain.dispose();
  dropping.dispose();
  assert.throws(
    () => efficientnet("efficientnet_b0", { dropPath: 1, backend }),
    /dropPath 1 is not in \[0, 1\)/,
  );

  manualSeed(3);
  const n = 64;
  const x = tensor(new Float32Array(n * 2 * 2).fill(1), [n, 1, 2, 2], {
    backend: cpu,
    requiresGrad: true,
  });
  assert.equal(dropPath(x, 0.5, false), x, "identity in eval mode");
  const y = dropPath(x, 0.5, true);
  const values = await y.data();
  let kept = 0;
  for (let s = 0; s < n; s++) {
    const row = [...values.slice(s * 4, s * 4 + 4)];
    assert.ok(row.every((v) => v === row[0]) && (row[0] === 0 || row[0] === 2), `sample ${s}`);
    if (row[0] === 2) kept++;
  }
  assert.ok(kept > 16 && kept < 48, `${kept} of ${n} samples kept at rate 0.5`);
  backward(sum(y));
  assert.deepEqual([...await x.grad!.data()], [...values], "gradient is the same mask");
});
