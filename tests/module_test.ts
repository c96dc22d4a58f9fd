/**
 * Modules, state dicts, safetensors and checkpoints: names match torchvision/PyTorch, a
 * PyTorch-written file loads and gives PyTorch's outputs, our files round-trip, and bad loads
 * fail naming the key or file without touching the model.
 */

import type { Backend } from "../gpu/backend.ts";
import { loadCheckpoint, loadWeights, saveCheckpoint, saveWeights } from "../nn/checkpoint.ts";
import { backward } from "../nn/autograd.ts";
import { BatchNorm2d } from "../nn/layers/batchnorm.ts";
import { Sequential } from "../nn/layers/container.ts";
import { Conv2d } from "../nn/layers/conv.ts";
import { Dropout } from "../nn/layers/dropout.ts";
import { Linear } from "../nn/layers/linear.ts";
import { ResNet, resnet18, resnext50_32x4d } from "../nn/models/resnet.ts";
import { smallCnn } from "../nn/models/small-cnn.ts";
import { crossEntropy } from "../nn/ops/loss.ts";
import { Adam } from "../nn/optim/adam.ts";
import { manualSeed } from "../nn/random.ts";
import { decodeSafetensors, encodeSafetensors, readSafetensors } from "../nn/safetensors.ts";
import { tidy } from "../nn/scope.ts";
import { tensor } from "../nn/tensor.ts";
import type { HostTensor } from "../nn/host-tensor.ts";
import { assertClose, assertEqual, assertThrows } from "./support/assert.ts";
import { allBackends, cpu } from "./support/backends.ts";
import { randomValues } from "./support/gradcheck.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
const TORCH_STATE = `${FIXTURES}small_cnn.safetensors`;
const TORCH_EXTRA = `${FIXTURES}small_cnn_extra.safetensors`;

async function values(model: { stateDict(): Map<string, { data(): Promise<unknown> }> }) {
  const out = new Map<string, number[]>();
  for (const [k, t] of model.stateDict()) {
    out.set(k, Array.from(await t.data() as ArrayLike<number>));
  }
  return out;
}

Deno.test("small CNN state-dict keys and order match PyTorch's", async () => {
  const torch = await readSafetensors(TORCH_STATE);
  const model = smallCnn({ backend: cpu });
  assertEqual([...model.stateDict().keys()], [...torch.tensors.keys()], "state dict keys");
  assertEqual(
    model.namedParameters().map(([k]) => k),
    [...torch.tensors.keys()].filter((k) => !/running|num_batches/.test(k)),
    "parameter names",
  );
  assertEqual(model.namedBuffers().length, 6, "buffers");
  assertEqual(model.numParameters(), 19_274, "parameter count");
  assertEqual(
    torch.tensors.get("bn1.num_batches_tracked")!.fileDtype,
    "I64",
    "torch counter dtype",
  );
  model.dispose();
});

Deno.test("ResNet-18 / ResNeXt-50 names, sizes and init match torchvision", async () => {
  const r18 = resnet18({ backend: cpu });
  assertEqual(r18.numParameters(), 11_689_512, "resnet18 parameters");
  assertEqual(r18.stateDict().size, 122, "resnet18 state dict entries");
  const names = [...r18.stateDict().keys()];
  for (
    const key of [
      "conv1.weight",
      "bn1.running_var",
      "layer1.0.conv2.weight",
      "layer2.0.downsample.0.weight",
      "layer2.0.downsample.1.num_batches_tracked",
      "layer4.1.bn2.bias",
      "fc.bias",
    ]
  ) {
    if (!names.includes(key)) throw new Error(`resnet18 lacks ${key}`);
  }
  assertEqual(r18.stateDict().get("layer3.0.conv1.weight")!.shape, [256, 128, 3, 3], "conv shape");
  const k = stats(await r18.stateDict().get("layer4.0.conv1.weight")!.data());
  assertClose([k.std], [Math.sqrt(2 / (512 * 9))], "conv kaiming_normal(fan_out, relu)", {
    rtol: 0.02,
  });
  const bnw = stats(await r18.stateDict().get("layer2.1.bn2.weight")!.data());
  assertEqual([bnw.lo, bnw.hi], [1, 1], "batch-norm weight 1");
  r18.dispose();
  const rx = resnext50_32x4d({ backend: cpu });
  assertEqual(rx.numParameters(), 25_028_904, "resnext50_32x4d parameters");
  assertEqual(rx.stateDict().get("layer1.0.conv2.weight")!.shape, [128, 4, 3, 3], "grouped conv");
  rx.dispose();
});

function stats(v: ArrayLike<number>) {
  let sum = 0;
  let sq = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < v.length; i++) {
    sum += v[i];
    sq += v[i] * v[i];
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  const mean = sum / v.length;
  return { mean, std: Math.sqrt(sq / v.length - mean * mean), lo, hi };
}

Deno.test("initialisation follows PyTorch's defaults and the seed stream", async () => {
  manualSeed(9);
  const conv = new Conv2d(64, 32, 3, { backend: cpu });
  const bound = 1 / Math.sqrt(64 * 9);
  const w = stats(await conv.weight.data());
  if (w.lo < -bound || w.hi > bound) throw new Error(`conv weight outside +-${bound}`);
  assertClose([w.std, w.mean], [bound / Math.sqrt(3), 0], "conv weight uniform(+-1/sqrt(fan_in))", {
    rtol: 0.03,
    atol: 2e-3,
  });
  const b = stats(await conv.bias!.data());
  if (b.lo < -bound || b.hi > bound) throw new Error(`conv bias outside +-${bound}`);
  const bn = new BatchNorm2d(4, { backend: cpu });
  assertEqual(
    await Promise.all([...bn.stateDict().values()].map(async (t) => Array.from(await t.data()))),
    [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [0]],
    "batch norm weight, bias, running mean, running var, counter",
  );
  const small = new ResNet({
    block: "basic",
    layers: [1, 1, 1, 1],
    numClasses: 10,
    smallInput: true,
    backend: cpu,
  });
  assertEqual(small.conv1.weight.shape, [64, 3, 3, 3], "small-input stem");
  assertEqual(small.fc!.weight.shape, [10, 512], "classifier");
  manualSeed(9);
  const again = new Conv2d(64, 32, 3, { backend: cpu });
  assertEqual(
    Array.from(await again.weight.data()),
    Array.from(await conv.weight.data()),
    "seeded",
  );
  for (const m of [conv, bn, small, again]) m.dispose();
});

Deno.test("train()/eval() reach every descendant", () => {
  const net = new Sequential(
    new Conv2d(1, 2, 3, { backend: cpu }),
    new Sequential(new BatchNorm2d(2, { backend: cpu }), new Dropout(0.5)),
  );
  const modes = () => net.namedModules().map(([, m]) => m.training);
  assertEqual(modes(), [true, true, true, true, true], "default training");
  net.eval();
  assertEqual(modes(), [false, false, false, false, false], "after eval()");
  net.train();
  assertEqual(modes(), [true, true, true, true, true], "after train()");
  assertEqual(net.namedParameters().map(([k]) => k), [
    "0.weight",
    "0.bias",
    "1.0.weight",
    "1.0.bias",
  ], "names");
  assertEqual(net.parameters()[2].name, "1.0.weight", "tensor name follows its path");
  net.dispose();
});

Deno.test("a PyTorch-written state dict loads and reproduces PyTorch's eval output", async () => {
  const extra = await readSafetensors(TORCH_EXTRA);
  const input = extra.tensors.get("input")!;
  const expected = extra.tensors.get("output_eval")!.data;
  for (const backend of await allBackends()) {
    const model = smallCnn({ backend });
    await loadWeights(TORCH_STATE, model);
    const counter = await model.bn2.numBatchesTracked.data();
    assertEqual(Array.from(counter), [3], `${backend.name} num_batches_tracked`);
    model.eval();
    const out = tidy(() => model.forward(tensor(input.data, input.shape, { backend })));
    assertClose(await out.data(), expected, `${backend.name} eval output vs torch`, {
      rtol: 1e-4,
      atol: 1e-4,
    });
    out.dispose();
    model.dispose();
  }
});

Deno.test("safetensors dtypes written by PyTorch read back as f32 / i32", async () => {
  const { tensors } = await readSafetensors(TORCH_EXTRA);
  const get = (k: string) => tensors.get(k)!;
  assertEqual(get("f16").fileDtype, "F16", "f16 dtype");
  assertClose(get("f16").data, get("f16_as_f32").data, "F16 -> f32", { rtol: 0, atol: 0 });
  assertClose(get("bf16").data, get("bf16_as_f32").data, "BF16 -> f32", { rtol: 0, atol: 0 });
  const exact = [0, -1.5, 3.140625, 65504, 1e-7, -(2 ** -14), 0.333333];
  assertClose(get("f64").data, Float32Array.from(exact), "F64 -> f32", { rtol: 0, atol: 0 });
  assertEqual(get("i64").dtype, "i32", "I64 becomes i32");
  assertEqual(Array.from(get("i64").data), [0, -3, 2147483647, -2147483648], "I64 values");
  assertEqual(get("i64").shape, [2, 2], "I64 shape");
  assertEqual(Array.from(get("i32").data), [5, -6, 7], "I32 values");
  assertEqual(Array.from(get("u8").data), [0, 200, 255], "U8 values");
});

Deno.test("safetensors encode/decode round trip, I64 out of range, corrupt files", () => {
  const f = new Float32Array([1.5, -2, 3.25, 0, 7, 8]);
  const bytes = encodeSafetensors(
    [
      ["w", { dtype: "f32", shape: [2, 3], data: f }],
      ["n", { dtype: "i32", shape: [], data: new Int32Array([42]), as: "I64" }],
      ["e", { dtype: "f32", shape: [0], data: new Float32Array(0) }],
    ],
    { note: "hello" },
  );
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEqual((8 + headerLength) % 8, 0, "data start is 8-byte aligned");
  const back = decodeSafetensors(bytes, "mem");
  assertEqual(back.metadata, { note: "hello" }, "metadata");
  assertEqual(Array.from(back.tensors.get("w")!.data), Array.from(f), "f32 values");
  assertEqual(back.tensors.get("n")!.fileDtype, "I64", "I64 on disk");
  assertEqual(Array.from(back.tensors.get("n")!.data), [42], "I64 value");
  assertEqual(back.tensors.get("e")!.shape, [0], "empty tensor");

  const header = (obj: unknown, data: number) => {
    const text = new TextEncoder().encode(JSON.stringify(obj));
    const out = new Uint8Array(8 + text.length + data);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    return out;
  };
  const big = header({ x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, 8);
  new DataView(big.buffer).setBigInt64(big.length - 8, 1n << 40n, true);
  assertThrows(
    () => decodeSafetensors(big, "big.st"),
    /big\.st: tensor "x".*does not fit/,
    "I64 range",
  );
  assertThrows(() => decodeSafetensors(bytes.subarray(0, 40), "cut.st"), /cut\.st/, "truncated");
  assertThrows(
    () =>
      decodeSafetensors(
        header({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8),
        "s.st",
      ),
    /s\.st: tensor "x".*needs 12/,
    "size mismatch",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        header({ x: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }, 8),
        "d.st",
      ),
    /d\.st: tensor "x": unsupported dtype "C64"/,
    "unknown dtype",
  );
  assertThrows(
    () =>
      decodeSafetensors(
        header({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }, 12),
        "o.st",
      ),
    /o\.st: tensors "a" and "b" overlap/,
    "overlap",
  );
});

Deno.test("strict and non-strict loads: errors name the key, nothing is half-loaded", async () => {
  const torch = await readSafetensors(TORCH_STATE);
  const model = smallCnn({ backend: cpu });
  const before = await values(model);
  const missing = new Map(torch.tensors);
  missing.delete("bn2.running_var");
  missing.set("head.weight", missing.get("fc.weight")!);
  assertThrows(
    () => model.loadStateDict(missing),
    /missing key\(s\): bn2\.running_var; unexpected key\(s\): head\.weight/,
    "strict keys",
  );
  const wrong = new Map<string, HostTensor>(torch.tensors);
  wrong.set("fc.weight", { dtype: "f32", shape: [10, 256], data: new Float32Array(2560) });
  assertThrows(
    () => model.loadStateDict(wrong, { strict: false }),
    /size mismatch for fc\.weight: given \[10,256\], model has \[10,512\]/,
    "shape mismatch",
  );
  assertEqual(await values(model), before, "failed loads leave the model untouched");
  const result = model.loadStateDict(missing, { strict: false });
  assertEqual(
    result,
    { missingKeys: ["bn2.running_var"], unexpectedKeys: ["head.weight"] },
    "report",
  );
  assertEqual(
    Array.from(await model.fc.weight.data()),
    Array.from(torch.tensors.get("fc.weight")!.data),
    "loaded values",
  );
  model.dispose();
});

Deno.test("saveWeights / loadWeights round trip; int buffers go to disk as I64", async () => {
  const dir = await Deno.makeTempDir();
  try {
    manualSeed(1);
    const a = smallCnn({ backend: cpu });
    tidy(() => {
      const x = tensor(randomValues(4 * 3 * 28 * 28, 5), [4, 3, 28, 28], { backend: cpu });
      backward(
        crossEntropy(a.forward(x), tensor(new Int32Array([1, 2, 3, 4]), [4], { backend: cpu })),
      );
    });
    a.zeroGrad();
    const path = `${dir}/w.safetensors`;
    await saveWeights(path, a, { epoch: "3" });
    const file = await readSafetensors(path);
    assertEqual(file.tensors.get("bn1.num_batches_tracked")!.fileDtype, "I64", "counter dtype");
    assertEqual(file.metadata, { epoch: "3" }, "metadata");
    manualSeed(2);
    const b = smallCnn({ backend: cpu });
    const conv = async (m: typeof a) => (await values(m)).get("conv1.weight");
    assertEqual(
      JSON.stringify(await conv(a)) === JSON.stringify(await conv(b)),
      false,
      "seeds differ",
    );
    assertEqual(await loadWeights(path, b), { epoch: "3" }, "returned metadata");
    assertEqual(await values(b), await values(a), "round trip");
    assertEqual([...(await values(b)).get("bn2.num_batches_tracked")!], [1], "counter value");
    let leftovers = 0;
    for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".partial")) leftovers++;
    assertEqual(leftovers, 0, "no .partial files");
    a.dispose();
    b.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function trainSteps(
  model: ReturnType<typeof smallCnn>,
  opt: Adam,
  backend: Backend,
  n: number,
) {
  for (let s = 0; s < n; s++) {
    tidy(() => {
      opt.zeroGrad();
      const x = tensor(randomValues(4 * 3 * 28 * 28, 40 + s), [4, 3, 28, 28], { backend });
      const y = tensor(new Int32Array([s % 10, 3, 5, 7]), [4], { backend });
      backward(crossEntropy(model.forward(x), y));
      opt.step();
    });
  }
  await model.stateDictHost();
}

Deno.test("checkpoint restores model and Adam state: training continues identically", async () => {
  for (const backend of await allBackends()) {
    const at = `[${backend.name}]`;
    const dir = await Deno.makeTempDir();
    try {
      manualSeed(3);
      const a = smallCnn({ backend });
      const optA = new Adam(a.parameters(), { lr: 1e-2 });
      await trainSteps(a, optA, backend, 2);
      const path = `${dir}/ckpt.safetensors`;
      await saveCheckpoint(path, { model: a, optimizer: optA, metadata: { epoch: "2" } });
      manualSeed(4);
      const b = smallCnn({ backend });
      const optB = new Adam(b.parameters(), { lr: 1 });
      const meta = await loadCheckpoint(path, { model: b, optimizer: optB });
      assertEqual(meta, { epoch: "2" }, `meta ${at}`);
      assertEqual(optB.lr, 1e-2, `lr restored ${at}`);
      await trainSteps(a, optA, backend, 1);
      await trainSteps(b, optB, backend, 1);
      assertEqual(await values(b), await values(a), `identical after one more step ${at}`);
      await assertRejects(
        () => loadWeights(path, smallCnn({ backend })),
        /ckpt\.safetensors: .*missing key\(s\): conv1\.weight/,
      );
      await assertRejects(
        () => saveCheckpoint(path, { model: a, metadata: { format: "x" } }),
        /metadata key "format" is reserved/,
      );
      for (const m of [a, b]) m.dispose();
      optA.dispose();
      optB.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("a checkpoint's missing file and a non-checkpoint file are named in errors", async () => {
  const model = new Linear(3, 2, { backend: cpu });
  await assertRejects(
    () => loadCheckpoint("/nonexistent/x.safetensors", { model }),
    /\/nonexistent\/x\.safetensors/,
  );
  await assertRejects(
    () => loadCheckpoint(TORCH_STATE, { model }),
    /small_cnn\.safetensors: not a checkpoint/,
  );
  model.dispose();
});

async function assertRejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const message = (err as Error).message;
    if (!pattern.test(message)) throw new Error(`threw "${message}", expected ${pattern}`);
    return;
  }
  throw new Error(`did not throw (expected ${pattern})`);
}
