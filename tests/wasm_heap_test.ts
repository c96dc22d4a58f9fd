import { bucketBytes, WasmHeap } from "../gpu/wasm/heap.ts";
import { assertThrows } from "./support/assert.ts";

const MIB = 1 << 20;
/** A heap of 4 MiB (64 pages) with nothing reserved: the 4 GiB limit in miniature. */
const smallHeap = () => new WasmHeap(0, 1, 64);

function expectEqual(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new Error(`${what}: ${actual}, expected ${expected}`);
}

Deno.test("WASM heap: a freed block is reused by the next request of its bucket", () => {
  const heap = smallHeap();
  const a = heap.alloc(1000);
  heap.release(a);
  expectEqual(heap.pooledBytes, bucketBytes(1000), "pooled after release");
  expectEqual(heap.alloc(990), a, "same bucket, same block");
  expectEqual(heap.pooledBytes, 0, "pooled after reuse");
  expectEqual(heap.liveBytes, bucketBytes(1000), "live");
});

Deno.test("WASM heap: at its limit it merges free neighbours and lowers the top instead of failing", () => {
  const heap = smallHeap();
  const quarter = Array.from({ length: 8 }, () => heap.alloc(MIB / 4));
  for (const p of quarter) heap.release(p);
  // 2 MiB pooled in 256 KiB blocks; 3 MiB more would pass 4 MiB without merging them.
  const big = heap.alloc(3 * MIB);
  expectEqual(big, quarter[0], "the 3 MiB block starts where the merged run did");
  expectEqual(heap.pooledBytes, 0, "the merged run at the top is no longer pooled");
});

Deno.test("WASM heap: merged runs below a live block serve requests of other sizes", () => {
  const heap = smallHeap();
  const [a, b, c, d] = Array.from({ length: 4 }, () => heap.alloc(MIB));
  heap.release(a);
  heap.release(b);
  heap.release(d);
  // a+b merge into one 2 MiB run below the live c; d, at the top, lowers it.
  const two = heap.alloc(2 * MIB);
  expectEqual(two, a, "2 MiB cut from the run a+b");
  const one = heap.alloc(MIB);
  expectEqual(one, d, "1 MiB above c, where d was");
  expectEqual(heap.liveBytes, 4 * MIB, "live after refilling");
  heap.release(c);
  assertThrows(() => heap.alloc(2 * MIB), /exhausted.*1048576 pooled/, "no run long enough");
  expectEqual(heap.alloc(MIB / 2), c, "a smaller request is cut from the freed c");
  expectEqual(heap.pooledBytes, MIB / 2, "the rest of c stays pooled");
});
