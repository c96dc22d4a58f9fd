/**
 * Convolutions whose GEMMs run on the system BLAS (blas.ts). The library cannot read the input
 * through an implicit-GEMM packer, so the im2col matrix of a block of images is written out
 * (kernels/unfold.ts, at most `rt.convColumnBytes`) and each pass is one library GEMM per block:
 *
 * - forward:      y[img]  = W x col[img]
 * - grad-input:   col'    = W' x gy[img], folded back by col2im
 * - grad-weight:  gW     += gy[img] x col[img]' summed over the images
 *
 * Maps of at least DIRECT_POSITIONS positions run one GEMM per image straight on the NCHW
 * tensors. Smaller maps (ResNet's 4x4 and 2x2 stages) would make GEMMs 4-16 columns wide, so
 * their images are laid side by side ([O, images x positions], a strided copy) and multiplied
 * in one GEMM. 1x1 stride-1 convolutions need no im2col: the input is its own column matrix.
 * Grouped convolutions stay on the WASM implicit GEMM (per-group GEMMs are too small to call
 * out for).
 */

import type { Conv2dParams } from "../../types.ts";
import type { WasmRuntime } from "../runtime.ts";
import type { WasmStorage } from "../storage.ts";
import * as S from "../kernels/slots.ts";
import { blasGemm } from "./blas-gemm.ts";
import { setup, sizes, writeGeometry } from "./conv-setup.ts";
import { fill, PARALLEL_MIN_ELEMENTS } from "./elementwise.ts";
import { copyInto, gather } from "./layout.ts";

/** Positions per image from which a per-image GEMM is wide enough to run in place. */
export const DIRECT_POSITIONS = 64;
/**
 * Columns (images x positions) a block has at least, whatever its bytes: side-by-side GEMMs of
 * small maps read all of W once per block, so a block must be wide enough to pay for that.
 */
const MIN_BLOCK_COLUMNS = 256;

/** Whether the runtime's BLAS takes this convolution (ungrouped, and a BLAS was found). */
export function convOnBlas(rt: WasmRuntime, q: Conv2dParams): boolean {
  return rt.blas.path !== null && q.groups === 1;
}

function shape(rt: WasmRuntime, q: Conv2dParams) {
  const positions = q.oh * q.ow;
  const ck = q.c * q.kh * q.kw;
  const pointwise = q.kh === 1 && q.kw === 1 && q.strideH === 1 && q.strideW === 1 &&
    q.padH === 0 && q.padW === 0;
  const byBytes = Math.floor(rt.convColumnBytes / (ck * positions * 4));
  const block = Math.max(
    1,
    Math.min(q.n, Math.max(byBytes, Math.ceil(MIN_BLOCK_COLUMNS / positions))),
  );
  return { positions, ck, img: q.c * q.h * q.w, pointwise, block };
}

/** Writes the im2col matrix [ck, images x positions] of images [n0, n0 + images) to `col`. */
function unfold(
  rt: WasmRuntime,
  q: Conv2dParams,
  x: WasmStorage,
  n0: number,
  images: number,
  col: WasmStorage,
) {
  const { positions, ck, img } = shape(rt, q);
  const p = writeGeometry(rt.begin(), q);
  p[S.CONV_X] = x.ptr + n0 * img * 4;
  p[S.CONV_N] = images;
  p[S.CONV_OUT] = col.ptr;
  rt.run("im2col_task", ck * images * positions >= PARALLEL_MIN_ELEMENTS);
}

/** The NCHW view of images [n0, n0 + images) as [O, images, positions]. */
function channelsFirst(q: Conv2dParams, n0: number, images: number) {
  const positions = q.oh * q.ow;
  return {
    shape: [q.o, images, positions],
    strides: [positions, q.o * positions, 1],
    offset: n0 * q.o * positions,
  };
}

/** Runs `pass` over blocks of images sharing one column buffer; `wide`: lay images side by side. */
function blocks(
  rt: WasmRuntime,
  q: Conv2dParams,
  pass: (n0: number, images: number, col: WasmStorage, wide: boolean) => void,
): void {
  const { positions, ck, block } = shape(rt, q);
  const col = rt.alloc(ck * block * positions, "f32");
  try {
    for (let n0 = 0; n0 < q.n; n0 += block) {
      pass(n0, Math.min(block, q.n - n0), col, positions < DIRECT_POSITIONS);
    }
  } finally {
    rt.free(col);
  }
}

export function blasConv2d(rt: WasmRuntime, x: WasmStorage, w: WasmStorage, q: Conv2dParams) {
  const n = sizes(q);
  const y = rt.alloc(n.y, "f32");
  setup(rt, q, { name: "input", s: x, len: n.x }, w, { name: "output", s: y, len: n.y });
  if (n.y === 0) return y;
  const { positions: pos, ck, img, pointwise } = shape(rt, q);
  const common = { transA: false, transB: false, m: q.o, k: ck, a: w.ptr, lda: ck };
  if (pointwise) {
    const b = { b: x.ptr, ldb: pos, bBatchStride: img };
    blasGemm(rt, {
      ...common,
      ...b,
      n: pos,
      c: y.ptr,
      ldc: pos,
      batch: q.n,
      cBatchStride: q.o * pos,
    });
    return y;
  }
  blocks(rt, q, (n0, images, col, wide) => {
    unfold(rt, q, x, n0, images, col);
    const cols = images * pos;
    if (!wide) {
      const c = { c: y.ptr + n0 * q.o * pos * 4, ldc: pos, batch: images, cBatchStride: q.o * pos };
      blasGemm(rt, { ...common, n: pos, b: col.ptr, ldb: cols, bBatchStride: pos, ...c });
      return;
    }
    const tmp = rt.alloc(q.o * cols, "f32");
    blasGemm(rt, { ...common, n: cols, b: col.ptr, ldb: cols, c: tmp.ptr, ldc: cols });
    copyInto(rt, tmp, y, channelsFirst(q, n0, images));
    rt.free(tmp);
  });
  return y;
}

export function blasConv2dGradInput(
  rt: WasmRuntime,
  gy: WasmStorage,
  w: WasmStorage,
  q: Conv2dParams,
) {
  const n = sizes(q);
  const { positions: pos, ck, img, pointwise } = shape(rt, q);
  // col2im adds into the images, so the gradient starts at zero (the 1x1 case overwrites).
  const gx = pointwise ? rt.alloc(n.x, "f32") : fill(rt, n.x, 0, "f32");
  setup(rt, q, { name: "input gradient", s: gx, len: n.x }, w, {
    name: "output gradient",
    s: gy,
    len: n.y,
  });
  if (n.x === 0) return gx;
  const common = { transA: true, transB: false, m: ck, k: q.o, a: w.ptr, lda: ck };
  if (pointwise) {
    const b = { b: gy.ptr, ldb: pos, bBatchStride: q.o * pos };
    blasGemm(rt, { ...common, ...b, n: pos, c: gx.ptr, ldc: pos, batch: q.n, cBatchStride: img });
    return gx;
  }
  blocks(rt, q, (n0, images, col, wide) => {
    const cols = images * pos;
    if (!wide) {
      const b = { b: gy.ptr + n0 * q.o * pos * 4, ldb: pos, bBatchStride: q.o * pos };
      const c = { c: col.ptr, ldc: cols, batch: images, cBatchStride: pos };
      blasGemm(rt, { ...common, n: pos, ...b, ...c });
    } else {
      const side = gather(rt, gy, channelsFirst(q, n0, images));
      blasGemm(rt, { ...common, n: cols, b: side.ptr, ldb: cols, c: col.ptr, ldc: cols });
      rt.free(side);
    }
    const p = writeGeometry(rt.begin(), q);
    p[S.CONV_X] = gx.ptr + n0 * img * 4;
    p[S.CONV_Y] = col.ptr;
    p[S.CONV_N] = images;
    rt.run("col2im_task", ck * cols >= PARALLEL_MIN_ELEMENTS);
  });
  return gx;
}

export function blasConv2dGradWeight(
  rt: WasmRuntime,
  x: WasmStorage,
  gy: WasmStorage,
  q: Conv2dParams,
) {
  const n = sizes(q);
  const { positions: pos, ck, img, pointwise } = shape(rt, q);
  const gw = rt.alloc(q.o * ck, "f32");
  setup(rt, q, { name: "input", s: x, len: n.x }, gw, { name: "output gradient", s: gy, len: n.y });
  if (gw.length === 0) return gw;
  if (n.y === 0) {
    gw.data.fill(0);
    return gw;
  }
  const common = { transA: false, transB: true, m: q.o, n: ck, c: gw.ptr, ldc: ck };
  if (pointwise) {
    const a = { a: gy.ptr, lda: pos, aBatchStride: q.o * pos };
    const b = { b: x.ptr, ldb: pos, bBatchStride: img };
    blasGemm(rt, { ...common, ...a, ...b, k: pos, batch: q.n, cBatchStride: 0 });
    return gw;
  }
  blocks(rt, q, (n0, images, col, wide) => {
    unfold(rt, q, x, n0, images, col);
    const cols = images * pos;
    const beta = n0 === 0 ? 0 : 1;
    if (!wide) {
      const a = { a: gy.ptr + n0 * q.o * pos * 4, lda: pos, aBatchStride: q.o * pos };
      const b = { b: col.ptr, ldb: cols, bBatchStride: pos };
      blasGemm(rt, { ...common, ...a, ...b, k: pos, beta, batch: images, cBatchStride: 0 });
      return;
    }
    const side = gather(rt, gy, channelsFirst(q, n0, images));
    const a = { a: side.ptr, lda: cols };
    blasGemm(rt, { ...common, ...a, b: col.ptr, ldb: cols, k: cols, beta });
    rt.free(side);
  });
  return gw;
}
