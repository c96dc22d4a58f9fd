/**
 * One registry of trunks by name: what `--arch` / `--enet-type` resolve through, so the run loop,
 * `evaluate` and the report build the same encoder from the same words. Each entry builds an
 * encoder whose forward maps NCHW images to pooled [N, D] features (no classifier: the debiasing
 * heads attach to those features), and says D, the input normalisation its weights expect, and
 * how its parameter names relate to the torchvision / timm state dict its pretrained weights come
 * as (a prefix to strip, and the classifier keys the encoder leaves out).
 *
 * Every trunk the study used is here: ResNeXt-101 32x8d, ResNet-101, EfficientNet-B0 … B7 (timm's
 * names), DenseNet-161 (and 121) and Inception-v3; an unknown name is an error that names what
 * can be built.
 */

import type { Backend } from "../../gpu/backend.ts";
import type { Layer } from "../module.ts";
import { densenet121, densenet161 } from "./densenet.ts";
import { efficientnet, EFFICIENTNET_SCALING, efficientnetPlan } from "./efficientnet.ts";
import { inceptionV3 } from "./inception.ts";
import {
  resnet101,
  resnet18,
  resnet34,
  resnet50,
  resnext101_32x8d,
  resnext50_32x4d,
} from "./resnet.ts";
import { SYNTH_TRUNK_WIDTH, synthTrunk } from "./synth-cnn.ts";

/** Per-channel input normalisation on [0, 1] pixels: (pixel - mean) / std, RGB order. */
export interface InputNormalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** ImageNet statistics: what every torchvision / timm trunk was trained with. */
export const IMAGENET_NORMALISATION: InputNormalisation = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/**
 * Inception-v3's statistics: torchvision's weights expect (pixel - 0.5) / 0.5 (its
 * `transform_input` converted ImageNet-normalised input to that; timm's tv_in1k config says so).
 */
export const INCEPTION_NORMALISATION: InputNormalisation = {
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
};

/** What a build may vary. */
export interface TrunkBuildOptions {
  backend?: Backend;
  /** Channel width of `synth-cnn`'s first stage (default 16); other trunks ignore it. */
  width?: number;
  /** Stochastic-depth rate of EfficientNet's last block (timm's drop_path_rate; default 0). */
  dropPath?: number;
}

/** A built trunk. */
export interface Trunk {
  /** The registry name it was built from, e.g. "resnext101_32x8d". */
  name: string;
  /** forward: [N, 3, H, W] to [N, features]. */
  encoder: Layer;
  features: number;
  normalisation: InputNormalisation;
}

/** How the encoder's state dict maps onto the published one. */
export interface WeightMapping {
  /** Prefix of the encoder's keys in the published state dict ("" for torchvision / timm ResNets). */
  prefix: string;
  /** Published keys the encoder has no place for (the ImageNet classifier). */
  dropped: readonly string[];
  /** timm's model name of the ImageNet weights, when there are any. */
  timm?: string;
}

/** One registry entry. */
export interface TrunkEntry {
  name: string;
  description: string;
  /** D of the default build. */
  features: number;
  /** Side length the published weights were trained at, when the study fixed one (Inception). */
  inputSize?: number;
  normalisation: InputNormalisation;
  weights: WeightMapping;
  build(o: TrunkBuildOptions): Trunk;
}

const TORCHVISION_CLASSIFIER = ["fc.weight", "fc.bias"] as const;
const CLASSIFIER = ["classifier.weight", "classifier.bias"] as const;

/** An encoder that reports its own width (every trunk but synth-cnn). */
type Encoder = { numFeatures: number } & Layer;

/**
 * An entry whose build is `make` (normalisation ImageNet's unless given): the built trunk takes
 * its name and normalisation from the entry and its width from the encoder.
 */
function entry(
  fields: Omit<TrunkEntry, "build" | "normalisation"> & { normalisation?: InputNormalisation },
  make: (o: TrunkBuildOptions) => Encoder,
): TrunkEntry {
  const normalisation = fields.normalisation ?? IMAGENET_NORMALISATION;
  return {
    ...fields,
    normalisation,
    build: (o) => {
      const encoder = make(o);
      return { name: fields.name, encoder, features: encoder.numFeatures, normalisation };
    },
  };
}

/** A torchvision trunk with timm's `.tv_in1k` port of its weights; `dropped`: its classifier. */
function torchvisionEntry(
  name: string,
  description: string,
  make: (o: { numClasses: number; backend?: Backend }) => Encoder,
  features: number,
  dropped: readonly string[] = TORCHVISION_CLASSIFIER,
): TrunkEntry {
  const weights = { prefix: "", dropped, timm: `${name}.tv_in1k` };
  return entry({ name, description, features, weights }, ({ backend }) => {
    return make({ numClasses: 0, backend });
  });
}

/** torchvision's DenseNets name their classifier `classifier`. */
const densenetEntry = (...a: [string, string, typeof densenet121, number]) =>
  torchvisionEntry(...a, CLASSIFIER);

/** timm's ImageNet-1k weights of each EfficientNet (none for B6 / B7: timm has only `tf_` ports). */
const EFFICIENTNET_WEIGHTS: Readonly<Record<string, string>> = {
  efficientnet_b0: "efficientnet_b0.ra_in1k",
  efficientnet_b1: "efficientnet_b1.ft_in1k",
  efficientnet_b2: "efficientnet_b2.ra_in1k",
  efficientnet_b3: "efficientnet_b3.ra2_in1k",
  efficientnet_b4: "efficientnet_b4.ra2_in1k",
  efficientnet_b5: "efficientnet_b5.sw_in12k_ft_in1k",
};

function efficientnetEntry(name: string): TrunkEntry {
  const description = `EfficientNet-B${name.slice(-1)} (timm layout)` +
    (name === "efficientnet_b3" ? ", the study's --arch enet" : "");
  const weights = { prefix: "", dropped: CLASSIFIER, timm: EFFICIENTNET_WEIGHTS[name] };
  const features = efficientnetFeatures(name);
  return entry({ name, description, features, weights }, ({ backend, dropPath }) => {
    return efficientnet(name, { numClasses: 0, dropPath, backend });
  });
}

/** The head width of an EfficientNet variant (1280 x width, rounded as timm does). */
function efficientnetFeatures(name: string): number {
  const { width, depth } = EFFICIENTNET_SCALING[name];
  return efficientnetPlan(width, depth).head;
}

const INCEPTION_ENTRY = entry({
  name: "inception_v3",
  description:
    "Inception-v3 (torchvision layout, auxiliary classifier kept for loading), 299 px, " +
    "the study's --arch inception",
  features: 2048,
  inputSize: 299,
  normalisation: INCEPTION_NORMALISATION,
  weights: { prefix: "", dropped: TORCHVISION_CLASSIFIER, timm: "inception_v3.tv_in1k" },
}, ({ backend }) => inceptionV3({ numClasses: 0, backend }));

/** Every trunk that can be built, by registry name. */
export const TRUNKS: readonly TrunkEntry[] = [
  torchvisionEntry("resnet18", "ResNet-18 (torchvision layout)", resnet18, 512),
  torchvisionEntry("resnet34", "ResNet-34 (torchvision layout)", resnet34, 512),
  torchvisionEntry("resnet50", "ResNet-50 (torchvision layout)", resnet50, 2048),
  torchvisionEntry("resnet101", "ResNet-101, the study's --arch resnet101", resnet101, 2048),
  torchvisionEntry(
    "resnext50_32x4d",
    "ResNeXt-50 32x4d (torchvision layout)",
    resnext50_32x4d,
    2048,
  ),
  torchvisionEntry(
    "resnext101_32x8d",
    "ResNeXt-101 32x8d, the study's --arch resnext101",
    resnext101_32x8d,
    2048,
  ),
  ...Object.keys(EFFICIENTNET_SCALING).map(efficientnetEntry),
  densenetEntry("densenet121", "DenseNet-121 (torchvision layout)", densenet121, 1024),
  densenetEntry("densenet161", "DenseNet-161, the study's --arch densenet", densenet161, 2208),
  INCEPTION_ENTRY,
  {
    name: "synth-cnn",
    description: "compact 4-stage CNN of the synthetic skin experiments (4 x --width features)",
    features: 4 * SYNTH_TRUNK_WIDTH,
    normalisation: IMAGENET_NORMALISATION,
    weights: { prefix: "", dropped: [] },
    build: ({ backend, width }) => {
      const { encoder, features } = synthTrunk(width ?? SYNTH_TRUNK_WIDTH, backend);
      return { name: "synth-cnn", encoder, features, normalisation: IMAGENET_NORMALISATION };
    },
  },
];

/** The study's --arch words and the registry names they stand for (enet: see --enet-type). */
export const STUDY_ARCHS: Readonly<Record<string, string>> = {
  resnext101: "resnext101_32x8d",
  resnet101: "resnet101",
  densenet: "densenet161",
  inception: "inception_v3",
};

/** Thrown for a name the registry cannot build; the message lists what it can. */
export class UnknownTrunkError extends Error {}

function available(): string {
  return TRUNKS.map((t) => t.name).join(", ");
}

/**
 * The registry name of `--arch arch` (with `--enet-type enetType` for `enet`): the study's words
 * map through {@link STUDY_ARCHS}, any registry name passes through. Unknown names throw {@link UnknownTrunkError} naming the trunks that exist.
 */
export function resolveTrunkName(arch: string, enetType = "efficientnet_b3"): string {
  const name = arch === "enet" ? enetType : STUDY_ARCHS[arch] ?? arch;
  if (TRUNKS.some((t) => t.name === name)) return name;
  const via = name === arch
    ? `--arch ${arch}`
    : arch === "enet"
    ? `--arch enet --enet-type ${enetType}`
    : `--arch ${arch} (${name})`;
  if (arch === "enet" && !/^efficientnet_b[0-7]$/.test(enetType)) {
    throw new UnknownTrunkError(
      `${via}: --enet-type must be efficientnet_b0 .. efficientnet_b7; ` +
        `trunks that can be built now: ${available()}`,
    );
  }
  throw new UnknownTrunkError(
    `${via}: unknown trunk; trunks that can be built now: ${available()} ` +
      `(the study's words: ${[...Object.keys(STUDY_ARCHS), "enet"].join(", ")})`,
  );
}

/** The entry of a registry name (see {@link resolveTrunkName} for the study's words). */
export function trunkEntry(name: string): TrunkEntry {
  const entry = TRUNKS.find((t) => t.name === name);
  if (!entry) return trunkEntry(resolveTrunkName(name));
  return entry;
}

/** Builds the trunk `--arch` / `--enet-type` name. */
export function buildTrunk(
  arch: string,
  enetType: string | undefined,
  o: TrunkBuildOptions = {},
): Trunk {
  return trunkEntry(resolveTrunkName(arch, enetType)).build(o);
}
