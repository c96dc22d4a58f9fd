/**
 * Inception-v3 as torchvision builds it (`Conv2d_1a_3x3.conv`, `Mixed_6e.branch7x7dbl_5.bn`,
 * `AuxLogits.fc`, `fc`; timm's `inception_v3.tv_in1k` keeps the names), blocks in
 * nn/models/inception-blocks.ts. The auxiliary classifier is built, so ImageNet checkpoints
 * (which carry it) load strictly, but the forward pass does not run it: the study trains the
 * pooled 2048 features. Made for 299 px inputs; anything from 75 px up runs. No input transform:
 * the weights expect (pixel - 0.5) / 0.5, which the data pipeline applies from the registry.
 */

import type { Backend } from "../../gpu/backend.ts";
import { assignInPlace, normal } from "../init.ts";
import { Linear } from "../layers/linear.ts";
import { Layer } from "../module.ts";
import { globalAvgPool2d, maxPool2d } from "../ops/pool.ts";
import type { Tensor } from "../tensor.ts";
import {
  BasicConv2d,
  InceptionA,
  InceptionAux,
  InceptionB,
  InceptionC,
  InceptionD,
  InceptionE,
} from "./inception-blocks.ts";

/** The smallest input side the layers fit (PyTorch's Inception3 needs the same). */
export const INCEPTION_MIN_INPUT = 75;

export interface InceptionV3Options {
  /** Classifier outputs; 0 leaves out `fc`, so `forward` returns the pooled features. */
  numClasses?: number;
  /** Outputs of the auxiliary classifier (1000, ImageNet's, so published weights load). */
  auxClasses?: number;
  inChannels?: number;
  backend?: Backend;
}

export class InceptionV3 extends Layer {
  readonly stem: BasicConv2d[];
  readonly mixed: Layer[];
  readonly AuxLogits: InceptionAux;
  readonly fc: Linear | null;
  readonly numFeatures = 2048;

  constructor(o: InceptionV3Options = {}) {
    super(o.backend);
    const b = this.backend;
    const conv = (name: string, cin: number, cout: number, kernel: number, more = {}) =>
      this.addModule(name, new BasicConv2d(cin, cout, { kernel, ...more }, b));
    this.stem = [
      conv("Conv2d_1a_3x3", o.inChannels ?? 3, 32, 3, { stride: 2 }),
      conv("Conv2d_2a_3x3", 32, 32, 3),
      conv("Conv2d_2b_3x3", 32, 64, 3, { padding: 1 }),
      conv("Conv2d_3b_1x1", 64, 80, 1),
      conv("Conv2d_4a_3x3", 80, 192, 3),
    ];
    const add = <M extends Layer>(name: string, m: M) => this.addModule(name, m);
    this.mixed = [
      add("Mixed_5b", new InceptionA(192, 32, b)),
      add("Mixed_5c", new InceptionA(256, 64, b)),
      add("Mixed_5d", new InceptionA(288, 64, b)),
      add("Mixed_6a", new InceptionB(288, b)),
      add("Mixed_6b", new InceptionC(768, 128, b)),
      add("Mixed_6c", new InceptionC(768, 160, b)),
      add("Mixed_6d", new InceptionC(768, 160, b)),
      add("Mixed_6e", new InceptionC(768, 192, b)),
    ];
    this.AuxLogits = add("AuxLogits", new InceptionAux(768, o.auxClasses ?? 1000, b));
    this.mixed.push(
      add("Mixed_7a", new InceptionD(768, b)),
      add("Mixed_7b", new InceptionE(1280, b)),
      add("Mixed_7c", new InceptionE(2048, b)),
    );
    const classes = o.numClasses ?? 1000;
    this.fc = null;
    if (classes > 0) {
      const fc = new Linear(2048, classes, { backend: b });
      assignInPlace(fc.weight, normal(fc.weight.shape, 0, 0.1, { backend: b }));
      this.fc = add("fc", fc);
    }
  }

  /** Stem, the eleven mixed blocks and global average pooling: [N, 3, H, W] to [N, 2048]. */
  features(x: Tensor): Tensor {
    const side = Math.min(x.shape[2], x.shape[3]);
    if (x.rank !== 4 || side < INCEPTION_MIN_INPUT) {
      throw new Error(
        `Inception-v3 needs [N, C, H, W] input of at least ${INCEPTION_MIN_INPUT} px, ` +
          `got [${x.shape}] (made for 299 px)`,
      );
    }
    const [c1a, c2a, c2b, c3b, c4a] = this.stem;
    let h = c2b.forward(c2a.forward(c1a.forward(x)));
    h = maxPool2d(h, { kernel: 3, stride: 2 });
    h = maxPool2d(c4a.forward(c3b.forward(h)), { kernel: 3, stride: 2 });
    for (const block of this.mixed) h = block.forward(h);
    return globalAvgPool2d(h);
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x);
    return this.fc ? this.fc.forward(f) : f;
  }
}

/** The study's `--arch inception`. */
export const inceptionV3 = (o: InceptionV3Options = {}) => new InceptionV3(o);
