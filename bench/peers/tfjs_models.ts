/**
 * The benchmark's networks written with TensorFlow.js core ops (tfjs-layers is not used: the
 * peer should pay for kernels, not for a second framework layer). NHWC, tfjs's native layout;
 * shapes, padding and parameter counts match the PyTorch script and our models.
 */

import * as tf from "@tensorflow/tfjs";

/** A network's trainable variables and its training-mode forward pass. */
export interface TfNet {
  vars: tf.Variable[];
  forward(x: tf.Tensor4D): tf.Tensor2D;
}

class Builder {
  vars: tf.Variable[] = [];

  #param(t: tf.Tensor): tf.Variable {
    const v = tf.variable(t, true);
    this.vars.push(v);
    return v;
  }

  conv(k: number, cin: number, cout: number, stride: number, pad: number, bias: boolean) {
    const w = this.#param(tf.randomNormal([k, k, cin, cout], 0, Math.sqrt(2 / (k * k * cin))));
    const b = bias ? this.#param(tf.zeros([cout])) : null;
    return (x: tf.Tensor4D): tf.Tensor4D => {
      const y = tf.conv2d(x, w as tf.Tensor4D, stride, pad);
      return b ? tf.add(y, b) : y;
    };
  }

  /** Training-mode batch norm; running statistics are updated as PyTorch does (momentum 0.1). */
  bn(c: number) {
    const gamma = this.#param(tf.ones([c]));
    const beta = this.#param(tf.zeros([c]));
    const runMean = tf.variable(tf.zeros([c]), false);
    const runVar = tf.variable(tf.ones([c]), false);
    return (x: tf.Tensor4D): tf.Tensor4D => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      runMean.assign(tf.add(tf.mul(runMean, 0.9), tf.mul(mean, 0.1)));
      runVar.assign(tf.add(tf.mul(runVar, 0.9), tf.mul(variance, 0.1)));
      const [m, v] = [mean as tf.Tensor1D, variance as tf.Tensor1D];
      return tf.batchNorm4d(x, m, v, beta as tf.Tensor1D, gamma as tf.Tensor1D, 1e-5);
    };
  }

  linear(cin: number, cout: number) {
    const w = this.#param(tf.randomNormal([cin, cout], 0, Math.sqrt(1 / cin)));
    const b = this.#param(tf.zeros([cout]));
    return (x: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(x, w as tf.Tensor2D), b);
  }
}

const flatten = (x: tf.Tensor4D): tf.Tensor2D => tf.reshape(x, [x.shape[0], -1]);
const gap = (x: tf.Tensor4D): tf.Tensor2D => tf.mean(x, [1, 2]);

/** torchvision's ResNet-18: 7x7/2 stem, 3x3/2 max-pool, four stages of basic blocks. */
export function resnet18(classes: number): TfNet {
  const b = new Builder();
  const stemConv = b.conv(7, 3, 64, 2, 3, false);
  const stemBn = b.bn(64);
  const blocks: ((x: tf.Tensor4D) => tf.Tensor4D)[] = [];
  let c = 64;
  for (const [width, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]]) {
    for (const s of [stride, 1]) {
      const conv1 = b.conv(3, c, width, s, 1, false);
      const bn1 = b.bn(width);
      const conv2 = b.conv(3, width, width, 1, 1, false);
      const bn2 = b.bn(width);
      let short = (x: tf.Tensor4D) => x;
      if (s !== 1 || c !== width) {
        const sc = b.conv(1, c, width, s, 0, false);
        const sbn = b.bn(width);
        short = (x) => sbn(sc(x));
      }
      blocks.push((x) => tf.relu(tf.add(bn2(conv2(tf.relu(bn1(conv1(x))))), short(x))));
      c = width;
    }
  }
  const fc = b.linear(512, classes);
  return {
    vars: b.vars,
    forward: (x) =>
      fc(gap(blocks.reduce(
        (h, block) => block(h),
        tf.maxPool(tf.relu(stemBn(stemConv(x))), 3, 2, 1) as tf.Tensor4D,
      ))),
  };
}

/** The W4 network: two 5x5 conv + BN + ReLU + 2x2 max-pool stages, then 512 -> 10. */
export function smallCnn(): TfNet {
  const b = new Builder();
  const c1 = b.conv(5, 3, 16, 1, 0, true);
  const bn1 = b.bn(16);
  const c2 = b.conv(5, 16, 32, 1, 0, true);
  const bn2 = b.bn(32);
  const fc = b.linear(512, 10);
  return {
    vars: b.vars,
    forward: (x) => {
      const h = tf.maxPool(tf.relu(bn1(c1(x))), 2, 2, "valid");
      return fc(flatten(tf.maxPool(tf.relu(bn2(c2(h))), 2, 2, "valid")));
    },
  };
}

/** The Colored-MNIST network of the LNTL paper (baseline: no bias heads). */
export function coloredMnistNet(): TfNet {
  const b = new Builder();
  const bn0 = b.bn(3);
  const c1 = b.conv(5, 3, 32, 1, 2, true);
  const c2 = b.conv(3, 32, 32, 1, 1, true);
  const c3 = b.conv(3, 32, 64, 2, 1, true);
  const c4 = b.conv(3, 64, 64, 1, 1, true);
  const fc = b.linear(64, 10);
  return {
    vars: b.vars,
    forward: (x) => {
      const f = tf.relu(c2(tf.maxPool(tf.relu(c1(bn0(x))), 3, 2, 1)));
      return fc(gap(tf.relu(c4(tf.relu(c3(f))))));
    },
  };
}
