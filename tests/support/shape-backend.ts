/**
 * A backend that keeps shapes and no values (PyTorch's "meta" device): building a model on it
 * costs no memory and no random draws, so the layout tests can count the parameters of every
 * full-size trunk (ResNeXt-101's 88 M among them) in milliseconds. Only what module
 * construction calls is answered; any kernel that would need values throws, naming itself.
 */

import type { Backend, DType } from "../../gpu/backend.ts";
import { Storage } from "../../gpu/backend.ts";

class ShapeStorage extends Storage {
  constructor(readonly length: number, readonly dtype: DType) {
    super();
  }
}

const like = (x: Storage) => new ShapeStorage(x.length, x.dtype);

/** A fresh shape-only backend. */
export function shapeBackend(): Backend {
  let live = 0;
  const made = (s: ShapeStorage) => {
    live++;
    return s;
  };
  const methods: Partial<Backend> = {
    name: "shape",
    description: "shape-only (no values)",
    zeros: (n, dtype) => made(new ShapeStorage(n, dtype)),
    fill: (n, _value, dtype) => made(new ShapeStorage(n, dtype)),
    upload: (data) =>
      made(new ShapeStorage(data.length, data instanceof Int32Array ? "i32" : "f32")),
    random: (n) => made(new ShapeStorage(n, "f32")),
    unary: (_op, x) => made(like(x)),
    cast: (x, to) => made(new ShapeStorage(x.length, to)),
    copyInto: () => {},
    free: () => {
      live--;
    },
    flush: () => {},
    memory: () => ({ liveBytes: 0, pooledBytes: 0, liveBuffers: live }),
  };
  return new Proxy(methods, {
    get(target, key) {
      if (typeof key !== "string" || key in target) return Reflect.get(target, key);
      throw new Error(`the shape-only backend cannot run ${key}: it holds no values`);
    },
  }) as Backend;
}
