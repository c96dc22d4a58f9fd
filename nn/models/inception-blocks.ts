/**
 * The modules of torchvision's Inception-v3 (assembled in nn/models/inception.ts), with its
 * member names (`branch1x1`, `branch7x7dbl_3`, `branch3x3_2a`, `branch_pool`, ...). Every
 * convolution is a BasicConv2d: bias-free conv, batch norm with eps 0.001, ReLU. Branch outputs
 * are concatenated along the channels; pooling branches average with the padding counted
 * (PyTorch's count_include_pad default) or take the maximum.
 */

import type { Backend } from "../../gpu/backend.ts";
import { assignInPlace, normal } from "../init.ts";
import { BatchNorm2d } from "../layers/batchnorm.ts";
import { Conv2d, type Pair } from "../layers/conv.ts";
import { Linear } from "../layers/linear.ts";
import { Layer } from "../module.ts";
import { concat } from "../ops/layout.ts";
import { avgPool2d, globalAvgPool2d, maxPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";

/** Options of one BasicConv2d; `stddev` is torchvision's init std (0.1 unless set). */
export interface BasicConvOptions {
  kernel: Pair;
  stride?: number;
  padding?: Pair;
  stddev?: number;
}

/** conv (no bias) + batch norm (eps 0.001) + ReLU. */
export class BasicConv2d extends Layer {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(cin: number, cout: number, o: BasicConvOptions, backend: Backend) {
    super(backend);
    const std = o.stddev ?? 0.1;
    this.conv = this.addModule(
      "conv",
      new Conv2d(cin, cout, o.kernel, {
        stride: o.stride ?? 1,
        padding: o.padding ?? 0,
        bias: false,
        backend,
        weightInit: (shape, init) => normal(shape, 0, std, init),
      }),
    );
    this.bn = this.addModule("bn", new BatchNorm2d(cout, { eps: 0.001, backend }));
  }

  forward(x: Tensor): Tensor {
    return this.bn.forwardReLU(this.conv.forward(x));
  }
}

/** Registers BasicConv2d children by name and runs chains of them. */
abstract class Mixed extends Layer {
  protected conv(name: string, cin: number, cout: number, o: BasicConvOptions): BasicConv2d {
    return this.addModule(name, new BasicConv2d(cin, cout, o, this.backend));
  }
}

const avg3 = (x: Tensor) => avgPool2d(x, { kernel: 3, stride: 1, padding: 1 });
const max3s2 = (x: Tensor) => maxPool2d(x, { kernel: 3, stride: 2 });
const chain = (x: Tensor, ...convs: BasicConv2d[]) => convs.reduce((h, c) => c.forward(h), x);

/** 35x35 block: 1x1, 5x5, double 3x3 and pooled branches (64 + 64 + 96 + pool channels). */
export class InceptionA extends Mixed {
  readonly branch1x1: BasicConv2d;
  readonly branch5x5: BasicConv2d[];
  readonly branch3x3dbl: BasicConv2d[];
  readonly branch_pool: BasicConv2d;

  constructor(cin: number, poolFeatures: number, backend: Backend) {
    super(backend);
    this.branch1x1 = this.conv("branch1x1", cin, 64, { kernel: 1 });
    this.branch5x5 = [
      this.conv("branch5x5_1", cin, 48, { kernel: 1 }),
      this.conv("branch5x5_2", 48, 64, { kernel: 5, padding: 2 }),
    ];
    this.branch3x3dbl = [
      this.conv("branch3x3dbl_1", cin, 64, { kernel: 1 }),
      this.conv("branch3x3dbl_2", 64, 96, { kernel: 3, padding: 1 }),
      this.conv("branch3x3dbl_3", 96, 96, { kernel: 3, padding: 1 }),
    ];
    this.branch_pool = this.conv("branch_pool", cin, poolFeatures, { kernel: 1 });
  }

  forward(x: Tensor): Tensor {
    return concat([
      this.branch1x1.forward(x),
      chain(x, ...this.branch5x5),
      chain(x, ...this.branch3x3dbl),
      this.branch_pool.forward(avg3(x)),
    ], 1);
  }
}

/** Grid reduction 35 -> 17: strided 3x3, strided double 3x3, max pool. */
export class InceptionB extends Mixed {
  readonly branch3x3: BasicConv2d;
  readonly branch3x3dbl: BasicConv2d[];

  constructor(cin: number, backend: Backend) {
    super(backend);
    this.branch3x3 = this.conv("branch3x3", cin, 384, { kernel: 3, stride: 2 });
    this.branch3x3dbl = [
      this.conv("branch3x3dbl_1", cin, 64, { kernel: 1 }),
      this.conv("branch3x3dbl_2", 64, 96, { kernel: 3, padding: 1 }),
      this.conv("branch3x3dbl_3", 96, 96, { kernel: 3, stride: 2 }),
    ];
  }

  forward(x: Tensor): Tensor {
    return concat([this.branch3x3.forward(x), chain(x, ...this.branch3x3dbl), max3s2(x)], 1);
  }
}

/** 17x17 block with factorised 7x7 convolutions (1x7 then 7x1), 4 x 192 channels out. */
export class InceptionC extends Mixed {
  readonly branch1x1: BasicConv2d;
  readonly branch7x7: BasicConv2d[];
  readonly branch7x7dbl: BasicConv2d[];
  readonly branch_pool: BasicConv2d;

  constructor(cin: number, c7: number, backend: Backend) {
    super(backend);
    const row = { kernel: [1, 7] as Pair, padding: [0, 3] as Pair };
    const col = { kernel: [7, 1] as Pair, padding: [3, 0] as Pair };
    this.branch1x1 = this.conv("branch1x1", cin, 192, { kernel: 1 });
    this.branch7x7 = [
      this.conv("branch7x7_1", cin, c7, { kernel: 1 }),
      this.conv("branch7x7_2", c7, c7, row),
      this.conv("branch7x7_3", c7, 192, col),
    ];
    this.branch7x7dbl = [
      this.conv("branch7x7dbl_1", cin, c7, { kernel: 1 }),
      this.conv("branch7x7dbl_2", c7, c7, col),
      this.conv("branch7x7dbl_3", c7, c7, row),
      this.conv("branch7x7dbl_4", c7, c7, col),
      this.conv("branch7x7dbl_5", c7, 192, row),
    ];
    this.branch_pool = this.conv("branch_pool", cin, 192, { kernel: 1 });
  }

  forward(x: Tensor): Tensor {
    return concat([
      this.branch1x1.forward(x),
      chain(x, ...this.branch7x7),
      chain(x, ...this.branch7x7dbl),
      this.branch_pool.forward(avg3(x)),
    ], 1);
  }
}

/** Grid reduction 17 -> 8: strided 3x3, 7x7-then-strided-3x3, max pool. */
export class InceptionD extends Mixed {
  readonly branch3x3: BasicConv2d[];
  readonly branch7x7x3: BasicConv2d[];

  constructor(cin: number, backend: Backend) {
    super(backend);
    this.branch3x3 = [
      this.conv("branch3x3_1", cin, 192, { kernel: 1 }),
      this.conv("branch3x3_2", 192, 320, { kernel: 3, stride: 2 }),
    ];
    this.branch7x7x3 = [
      this.conv("branch7x7x3_1", cin, 192, { kernel: 1 }),
      this.conv("branch7x7x3_2", 192, 192, { kernel: [1, 7], padding: [0, 3] }),
      this.conv("branch7x7x3_3", 192, 192, { kernel: [7, 1], padding: [3, 0] }),
      this.conv("branch7x7x3_4", 192, 192, { kernel: 3, stride: 2 }),
    ];
  }

  forward(x: Tensor): Tensor {
    return concat([chain(x, ...this.branch3x3), chain(x, ...this.branch7x7x3), max3s2(x)], 1);
  }
}

/** 8x8 block whose 3x3 branches split into parallel 1x3 and 3x1 (2048 channels out). */
export class InceptionE extends Mixed {
  readonly branch1x1: BasicConv2d;
  readonly branch3x3_1: BasicConv2d;
  readonly branch3x3_2a: BasicConv2d;
  readonly branch3x3_2b: BasicConv2d;
  readonly branch3x3dbl_1: BasicConv2d;
  readonly branch3x3dbl_2: BasicConv2d;
  readonly branch3x3dbl_3a: BasicConv2d;
  readonly branch3x3dbl_3b: BasicConv2d;
  readonly branch_pool: BasicConv2d;

  constructor(cin: number, backend: Backend) {
    super(backend);
    const row = { kernel: [1, 3] as Pair, padding: [0, 1] as Pair };
    const col = { kernel: [3, 1] as Pair, padding: [1, 0] as Pair };
    this.branch1x1 = this.conv("branch1x1", cin, 320, { kernel: 1 });
    this.branch3x3_1 = this.conv("branch3x3_1", cin, 384, { kernel: 1 });
    this.branch3x3_2a = this.conv("branch3x3_2a", 384, 384, row);
    this.branch3x3_2b = this.conv("branch3x3_2b", 384, 384, col);
    this.branch3x3dbl_1 = this.conv("branch3x3dbl_1", cin, 448, { kernel: 1 });
    this.branch3x3dbl_2 = this.conv("branch3x3dbl_2", 448, 384, { kernel: 3, padding: 1 });
    this.branch3x3dbl_3a = this.conv("branch3x3dbl_3a", 384, 384, row);
    this.branch3x3dbl_3b = this.conv("branch3x3dbl_3b", 384, 384, col);
    this.branch_pool = this.conv("branch_pool", cin, 192, { kernel: 1 });
  }

  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.forward(x);
    const dbl = this.branch3x3dbl_2.forward(this.branch3x3dbl_1.forward(x));
    return concat([
      this.branch1x1.forward(x),
      this.branch3x3_2a.forward(b3),
      this.branch3x3_2b.forward(b3),
      this.branch3x3dbl_3a.forward(dbl),
      this.branch3x3dbl_3b.forward(dbl),
      this.branch_pool.forward(avg3(x)),
    ], 1);
  }
}

/**
 * The auxiliary classifier on the 17x17 grid (5x5/3 average pool, 1x1 and 5x5 convs, pooled,
 * linear). Built so ImageNet checkpoints load whole; Inception-v3's forward does not run it.
 */
export class InceptionAux extends Mixed {
  readonly conv0: BasicConv2d;
  readonly conv1: BasicConv2d;
  readonly fc: Linear;

  constructor(cin: number, classes: number, backend: Backend) {
    super(backend);
    this.conv0 = this.conv("conv0", cin, 128, { kernel: 1 });
    this.conv1 = this.conv("conv1", 128, 768, { kernel: 5, stddev: 0.01 });
    const fc = new Linear(768, classes, { backend });
    assignInPlace(fc.weight, normal(fc.weight.shape, 0, 0.001, { backend }));
    this.fc = this.addModule("fc", fc);
  }

  forward(x: Tensor): Tensor {
    const h = this.conv1.forward(this.conv0.forward(avgPool2d(x, { kernel: 5, stride: 3 })));
    return this.fc.forward(globalAvgPool2d(h));
  }
}
