import { IMAGENET, imagescript } from "../data/image-decode.ts";
import {
  saliencyMaps,
  saliencyPicks,
  saliencyPng,
  writeSaliencyMaps,
} from "../experiments/saliency.ts";
import { mul } from "../nn/ops/elementwise.ts";
import { square } from "../nn/ops/elementwise.ts";
import { sum } from "../nn/ops/reduce.ts";
import { type Tensor, tensor } from "../nn/tensor.ts";
import { assertClose, assertEqual } from "./support/assert.ts";
import { allBackends } from "./support/backends.ts";
import type { NCHW } from "../data/batch.ts";

function values(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 * 2 - 1;
  });
}

const shape: NCHW = [5, 3, 4, 6];
const plane = shape[2] * shape[3];
const images = values(shape[0] * shape[1] * plane, 7);
const weights = values(shape[1] * plane, 11);

Deno.test("saliency of a linear score is |weights|, max over channels, for every image", async () => {
  const expected = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < shape[1]; c++) {
      expected[p] = Math.max(expected[p], Math.abs(weights[c * plane + p]));
    }
  }
  for (const backend of await allBackends()) {
    const w = tensor(weights, [1, shape[1], shape[2], shape[3]], { backend });
    const linear = (x: Tensor) => sum(mul(x, w), [1, 2, 3]);
    const maps = await saliencyMaps(linear, images, shape, { chunk: 2, backend });
    for (let n = 0; n < shape[0]; n++) {
      assertClose(
        maps.subarray(n * plane, (n + 1) * plane),
        expected,
        `${backend.name} image ${n}`,
      );
    }
    w.dispose();
  }
});

Deno.test("saliency is per image: a quadratic score's map follows each image's own pixels", async () => {
  // score_n = sum (w x_n)^2, so d score_n / d x_n = 2 w^2 x_n.
  for (const backend of await allBackends()) {
    const w = tensor(weights, [1, shape[1], shape[2], shape[3]], { backend });
    const quadratic = (x: Tensor) => sum(square(mul(x, w)), [1, 2, 3]);
    const whole = await saliencyMaps(quadratic, images, shape, { chunk: 8, backend });
    const single = await saliencyMaps(quadratic, images, shape, { chunk: 1, backend });
    const expected = new Float32Array(shape[0] * plane);
    for (let n = 0; n < shape[0]; n++) {
      for (let c = 0; c < shape[1]; c++) {
        for (let p = 0; p < plane; p++) {
          const g = 2 * weights[c * plane + p] ** 2 * images[(n * shape[1] + c) * plane + p];
          expected[n * plane + p] = Math.max(expected[n * plane + p], Math.abs(g));
        }
      }
    }
    assertClose(whole, expected, `${backend.name} one pass`);
    assertClose(single, expected, `${backend.name} one image per pass`);
    w.dispose();
  }
});

Deno.test("saliency rejects a score that is not one logit per image, or ignores the input", async () => {
  const w = tensor(weights, [1, shape[1], shape[2], shape[3]]);
  const perPixel = (x: Tensor) => mul(x, w);
  const constant = (x: Tensor) => tensor(new Float32Array(x.shape[0]));
  const wrongShape = await saliencyMaps(perPixel, images, shape).catch((e) => e.message);
  if (!/score function gave shape \[5,3,4,6\] for 5 images/.test(wrongShape)) {
    throw new Error(`per-pixel score gave "${wrongShape}"`);
  }
  const noGrad = await saliencyMaps(constant, images, shape).catch((e) => e.message);
  if (!/does not depend on the input/.test(noGrad)) throw new Error(`constant gave "${noGrad}"`);
  const badShape = await saliencyMaps(constant, images, [5, 3, 4, 5]).catch((e) => e.message);
  if (!/360 values for shape \[5,3,4,5\]/.test(badShape)) throw new Error(`gave "${badShape}"`);
  w.dispose();
});

Deno.test("saliency PNG: image, map and overlay side by side, enlarged, colours undone", async () => {
  const [, c, h, w] = shape;
  const image = images.subarray(0, c * plane);
  const map = new Float32Array(plane).map((_, p) => p);
  const png = await saliencyPng(image, c, map, h, w, { minSide: 16 });
  const { Image } = await imagescript();
  const decoded = await Image.decode(png);
  const scale = 4; // ceil(16 / min(4, 6))
  assertEqual([decoded.width, decoded.height], [3 * w * scale + 8, h * scale], "size");
  const px = decoded.bitmap;
  // Top-left pixel of the first panel is image pixel 0 with the ImageNet normalisation undone.
  const want = [0, 1, 2].map((ch) =>
    Math.round(
      Math.min(1, Math.max(0, image[ch * plane] * IMAGENET.std[ch] + IMAGENET.mean[ch])) * 255,
    )
  );
  assertClose(Array.from(px.subarray(0, 3)), want, "first panel pixel", { atol: 1 });
  // The map's zero is the colour map's dark end; its maximum the bright end.
  const mapAt = (x: number, y: number) => {
    const q = (y * decoded.width + w * scale + 4 + x) * 4;
    return Array.from(px.subarray(q, q + 3));
  };
  assertEqual(mapAt(0, 0), [0, 0, 4], "zero saliency colour");
  assertEqual(mapAt(w * scale - 1, h * scale - 1), [252, 255, 164], "top saliency colour");
  assertEqual(
    Array.from(px.subarray((w * scale) * 4, (w * scale) * 4 + 4)),
    [255, 255, 255, 255],
    "gap",
  );
});

Deno.test("writeSaliencyMaps writes saliency/<set>-<k>.png; picks alternate the classes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sdu-saliency-" });
  try {
    const w = tensor(weights, [1, shape[1], shape[2], shape[3]]);
    const two = images.subarray(0, 2 * shape[1] * plane);
    const paths = await writeSaliencyMaps(
      dir,
      "plain/marked",
      (x) => sum(mul(x, w), [1, 2, 3]),
      two,
      [2, shape[1], shape[2], shape[3]],
    );
    assertEqual(
      paths,
      [`${dir}/saliency/plain_marked-0.png`, `${dir}/saliency/plain_marked-1.png`],
      "paths",
    );
    for (const p of paths) await Deno.stat(p);
    w.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assertEqual(saliencyPicks([0, 0, 1, 0, 1, 1], 4), [2, 0, 4, 1], "alternating picks");
  assertEqual(saliencyPicks([0, 0, 0], 4), [0, 1, 2], "one class, a small set");
});
