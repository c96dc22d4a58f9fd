/**
 * The study's trunks as benchmark rows (`deno task bench --model resnext101_32x8d --image-size
 * 256 --batch 8`, issue 13): one SGD-momentum training step of the registry's trunk with a
 * 10-class linear head on a fixed batch, timed like every row (images/s), and the device memory
 * it holds after each step, so a pool that grows between steps shows. PyTorch runs the same
 * step on torchvision's model of that name (bench/peers/torch_bench.py).
 */

import type { Precision } from "../nn/autocast.ts";
import type { Backend } from "../gpu/backend.ts";
import { Sequential } from "../nn/layers/container.ts";
import { Linear } from "../nn/layers/linear.ts";
import { buildTrunk, TRUNKS } from "../nn/models/registry.ts";
import { SGD } from "../nn/optim/sgd.ts";
import { setDefaultBackend } from "../nn/tensor.ts";
import type { StepMemory } from "./measure.ts";
import { type WorkloadSpec, ZERO } from "./specs.ts";
import { classificationStep } from "./classification-step.ts";

/**
 * Forward multiply-accumulates per image (GMACs at the side `at`, torchvision's published
 * counts), scaled by area to other sides: enough to guess a slow cell before running it.
 */
const FORWARD_GMACS: Readonly<Record<string, { gmacs: number; at: number }>> = {
  resnet18: { gmacs: 1.81, at: 224 },
  resnet34: { gmacs: 3.66, at: 224 },
  resnet50: { gmacs: 4.09, at: 224 },
  resnet101: { gmacs: 7.8, at: 224 },
  resnext50_32x4d: { gmacs: 4.23, at: 224 },
  resnext101_32x8d: { gmacs: 16.41, at: 224 },
  densenet121: { gmacs: 2.83, at: 224 },
  densenet161: { gmacs: 7.73, at: 224 },
  inception_v3: { gmacs: 5.71, at: 299 },
  efficientnet_b0: { gmacs: 0.39, at: 224 },
  efficientnet_b1: { gmacs: 0.69, at: 240 },
  efficientnet_b2: { gmacs: 1.09, at: 288 },
  efficientnet_b3: { gmacs: 1.83, at: 300 },
  efficientnet_b4: { gmacs: 4.39, at: 380 },
  efficientnet_b5: { gmacs: 10.27, at: 456 },
  efficientnet_b6: { gmacs: 19.07, at: 528 },
  efficientnet_b7: { gmacs: 37.75, at: 600 },
};

/** Classes of the benchmark's linear head. */
const CLASSES = 10;

/** The rows for `--model a,b --image-size S --batch B`; unknown models list the known ones. */
export function trunkSpecs(models: string[], size: number, batch: number): WorkloadSpec[] {
  return models.map((model) => {
    const cost = FORWARD_GMACS[model];
    if (!cost || !TRUNKS.some((t) => t.name === model)) {
      throw new Error(
        `--model ${model}: no such trunk (known: ${Object.keys(FORWARD_GMACS).join(", ")})`,
      );
    }
    const forward = 2e9 * cost.gmacs * (size / cost.at) ** 2 * batch;
    return {
      id: `T-${model}`,
      group: "T",
      label: `${model} ${size}² b${batch} train step`,
      kind: "trunk" as const,
      model,
      unit: "images/s" as const,
      ...ZERO,
      batch,
      size,
      classes: CLASSES,
      flops: 3 * forward,
    };
  });
}

/** Bytes a backend holds: its live tensors plus what its pool keeps for reuse. */
function footprint(backend: Backend): number {
  const m = backend.memory();
  return m.liveBytes + m.pooledBytes;
}

/** A prepared trunk row; `memory` reports the footprint after the first and the last step. */
export function trunkRow(backend: Backend, s: WorkloadSpec, precision: Precision = "f32") {
  setDefaultBackend(backend);
  if (!s.model) throw new Error(`${s.id}: a trunk row names no model`);
  const trunk = buildTrunk(s.model, undefined, { backend });
  const head = new Linear(trunk.features, s.classes, { backend });
  const model = new Sequential(trunk.encoder, head).train();
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const seen: number[] = [];
  const { step, dispose } = classificationStep(
    model,
    opt,
    s,
    backend,
    () => seen.push(footprint(backend)),
    precision,
  );
  const memory = (): StepMemory | null =>
    seen.length
      ? {
        what: "pool",
        first: seen[0],
        second: seen[Math.min(1, seen.length - 1)],
        last: seen[seen.length - 1],
        peak: Math.max(...seen),
      }
      : null;
  return { step, memory, dispose };
}

const MIB = 1024 * 1024;

/** Memory of the trunk rows per column after steps 1, 2 and the last, and whether it grew. */
export function renderMemoryTable(
  specs: readonly WorkloadSpec[],
  columns: readonly { name: string; rows: Map<string, { kind: string; memory?: StepMemory }> }[],
): string | null {
  const lines: string[] = [];
  for (const spec of specs.filter((s) => s.kind === "trunk")) {
    for (const c of columns) {
      const m = c.rows.get(spec.id);
      const mem = m?.kind === "ok" ? m.memory : undefined;
      if (!mem) continue;
      const mib = (b: number) => (b / MIB).toFixed(1);
      const change = mem.last === mem.second
        ? "constant"
        : `${mem.last > mem.second ? "grew" : "shrank"} by ${mib(Math.abs(mem.last - mem.second))}`;
      const what = mem.what === "pool" ? "buffer pool + live" : mem.what;
      lines.push(
        `| ${spec.label} | ${c.name} | ${what} | ${mib(mem.first)} | ${mib(mem.second)} | ` +
          `${mib(mem.last)} | ${mib(mem.peak)} | ${change} |`,
      );
    }
  }
  if (!lines.length) return null;
  return [
    "Device memory of the trunk rows, MiB, after each call (warm-up included); step 1 also",
    "creates the optimiser's state, so steady state is step 2 to the last:",
    "",
    "| row | column | held in | step 1 | step 2 | last step | peak | step 2 to last |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ...lines,
  ].join("\n");
}
