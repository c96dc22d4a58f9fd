/**
 * The public scripting API: everything an ablation script needs, re-exported from the layers
 * below (nothing is defined here). Start with `selectBackend("auto")` and `setDefaultBackend`.
 */

// Backends (gpu/)
export type { Backend, DType, MemoryStats, Storage, TypedArray } from "./gpu/backend.ts";
export { type BackendChoice, selectBackend, webgpuBackend } from "./gpu/select.ts";
export { CpuBackend } from "./gpu/cpu/backend.ts";
export { createWasmBackend, WasmBackend } from "./gpu/wasm/backend.ts";
export { WebGpuBackend } from "./gpu/webgpu/backend.ts";

// Tensors, autodiff, memory scopes (nn/)
export {
  full,
  getDefaultBackend,
  ones,
  setDefaultBackend,
  Tensor,
  tensor,
  type TensorOptions,
  zeros,
} from "./nn/tensor.ts";
export { backward, isGradEnabled, noGrad } from "./nn/autograd.ts";
export { keep, tidy } from "./nn/scope.ts";
export { manualSeed, nextSeed } from "./nn/random.ts";

// Ops
export * from "./nn/ops/elementwise.ts";
export {
  broadcastTo,
  concat,
  flatten,
  flip,
  permute,
  reshape,
  slice,
  squeeze,
  transpose,
  unsqueeze,
} from "./nn/ops/layout.ts";
export { max, mean, min, sum } from "./nn/ops/reduce.ts";
export { dropout, rand, randn } from "./nn/ops/random.ts";
export { gemm, type GemmOptions, linear, matmul } from "./nn/ops/matmul.ts";
export { conv2d, type Conv2dOptions } from "./nn/ops/conv.ts";
export { batchNorm, type BatchNormOptions } from "./nn/ops/batchnorm.ts";
export {
  avgPool2d,
  type AvgPool2dOptions,
  globalAvgPool2d,
  maxPool2d,
  maxPool2dWithIndices,
  type Pool2dOptions,
} from "./nn/ops/pool.ts";
export { logSoftmax, softmax } from "./nn/ops/softmax.ts";
export {
  type BceOptions,
  bceWithLogits,
  crossEntropy,
  type CrossEntropyOptions,
  oneHot,
  type Reduction,
} from "./nn/ops/loss.ts";

// Modules, layers, models, optimisers, weights
export { Module } from "./nn/module.ts";
export * as layers from "./nn/layers/mod.ts";
export * as init from "./nn/init.ts";
export { SmallCnn, smallCnn, smallCnnMnist } from "./nn/models/small-cnn.ts";
export {
  BasicBlock,
  Bottleneck,
  ResNet,
  resnet101,
  resnet18,
  resnet34,
  resnet50,
  resnext101_32x8d,
  resnext50_32x4d,
} from "./nn/models/resnet.ts";
export { Optimizer, type OptimizerStateDict } from "./nn/optim/optimizer.ts";
export { SGD, type SgdOptions } from "./nn/optim/sgd.ts";
export { Adam, type AdamOptions } from "./nn/optim/adam.ts";
export {
  checkLossScale,
  LossScaler,
  type LossScalerOptions,
  type LossScalerSnapshot,
} from "./nn/optim/loss-scaler.ts";
export { autocast, gemmPrecision, type Precision, PRECISIONS } from "./nn/autocast.ts";
export { prepareHalfPrecision } from "./gpu/mixed-precision.ts";
export { readSafetensors, writeSafetensors } from "./nn/safetensors.ts";
export { loadCheckpoint, loadWeights, saveCheckpoint, saveWeights } from "./nn/checkpoint.ts";
export { loadTrunkWeights, mapTrunkState } from "./nn/models/trunk-weights.ts";
export {
  cacheRoot,
  hubBaseUrl,
  hubCachePath,
  hubFileUrl,
  NoPretrainedWeightsError,
  pretrainedSource,
} from "./nn/pretrained/source.ts";
export {
  compareStateDict,
  loadStateChecked,
  StateDictMismatchError,
  type StateDictReport,
} from "./nn/pretrained/strict-load.ts";

// Data
export type { Batch } from "./data/batch.ts";
export { ArrayDataset, type Dataset, type DatasetRow, FileDataset } from "./data/dataset.ts";
export { DataLoader, type LoaderOptions } from "./data/loader.ts";
export { type GroupBalance, groupBalancedWeights } from "./data/group-balance.ts";
export { ttaVariant, ttaVariants } from "./data/augment.ts";
export { IMAGENET_MEAN, IMAGENET_STD, loadImageFile } from "./data/image-decode.ts";
export { hashSeed, Rng } from "./data/rng.ts";
export { loadMnist } from "./data/mnist.ts";
export {
  COLORED_MNIST_MEANS,
  coloredMnistDataset,
  makeColoredMnist,
} from "./data/synthetic/colored-mnist.ts";
export {
  makeSkinTestSets,
  makeSkinTrainSet,
  SKIN_BIAS_NAMES,
  skinDataset,
} from "./data/synthetic/skin-artefacts.ts";
export { CATALOG, imageFolder, selectDatasets } from "./data/catalog.ts";
export { runDownload } from "./data/download-command.ts";
export { fetchHubFile, hubFileMetadata } from "./data/hub-download.ts";
export { buildTrainingLabels, loadTrainingLabels, readTestLabels } from "./data/labels.ts";
export { parseCsv, readCsvFile, requireColumns } from "./data/csv.ts";
export { ProgressBar } from "./data/progress.ts";

// Debiasing
export {
  type BiasHeadSpec,
  type DebiasConfigName,
  type DebiasOptions,
  type DebiasSettings,
  resolveDebias,
} from "./debias/config.ts";
export {
  auxiliaryLoss,
  inverseFrequencyWeights,
  lntlEntropyLoss,
  tabeConfusionLoss,
} from "./debias/losses.ts";
export * from "./debias/heads.ts";
export * from "./debias/train-step.ts";

// Experiments
export {
  type PairedShift,
  pairedShift,
  rocAuc,
  rocCurve,
  thresholdMetrics,
} from "./experiments/metrics.ts";
export { runMnistDemo } from "./experiments/mnist-demo.ts";
export { runCmnist } from "./experiments/cmnist.ts";
export { runSynth } from "./experiments/synth.ts";
export { initTrunkWeights } from "./experiments/train-trunk-weights.ts";
export { linearProbe, linearProbeScores, type ProbeScores } from "./experiments/linear-probe.ts";
export { type Figure, writeFigure } from "./experiments/plots/figure.ts";
export { renderSvg } from "./experiments/plots/render.ts";
export { rasterise } from "./experiments/plots/rasterise.ts";
export {
  aucOfPoints,
  plotRocCurves,
  plotRocOverlay,
  rocCorners,
  type RocSeries,
  rocSpec,
} from "./experiments/plots/roc.ts";
export { plotTrainingCurves, trainingSpec } from "./experiments/plots/training.ts";
export {
  saliencyMaps,
  saliencyPicks,
  saliencyPng,
  type ScoreFunction,
  writeSaliencyMaps,
} from "./experiments/saliency.ts";
export { type ReportOptions, type ReportResult, writeReport } from "./experiments/report.ts";
export {
  type BootstrapComparison,
  type DelongAuc,
  delongAuc,
  type DelongComparison,
  delongTest,
  type Interval,
  type McNemarComparison,
  mcnemarTest,
  meanSd,
  pairedBootstrap,
  type PairedDifference,
  pairedDifference,
  tInterval,
} from "./experiments/statistics.ts";
export {
  type ComparisonOptions,
  differenceTable,
  formatDifference,
  formatP,
  pairedToBaseline,
  type Recovery,
  recovery,
  recoveryTable,
  signed,
  type UnitScores,
} from "./experiments/comparisons.ts";
export {
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from "./experiments/distributions.ts";
