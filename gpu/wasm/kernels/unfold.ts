/**
 * The im2col matrix made explicit, for convolutions whose GEMM runs in a library (the system
 * BLAS) that cannot read the input through an implicit-GEMM packer: im2col_task writes it for a
 * block of images, col2im_task adds a column gradient back into the images. Geometry comes from
 * the CV_* slots (one group); CONV_X points at the block's first image (already offset to the
 * group's channels), CONV_N is the block's image count, and the matrix is [c*kh*kw, n*oh*ow].
 */

import { CONV_N, CONV_OUT, CONV_X, CONV_Y, CV_C, CV_KH, CV_KW, CV_OH, CV_OW } from "./slots";
import { grain, imin, nextGroup, pi } from "./common";
import { col2imRowAdd, im2colRow } from "./im2col";

/** Rows of the matrix, claimed in groups: each row is the block's positions for one (c, i, j). */
export function im2col_task(p: usize, _tid: i32, nt: i32): void {
  const x = <usize> pi(p, CONV_X);
  const dst = <usize> pi(p, CONV_OUT);
  const cols = pi(p, CONV_N) * pi(p, CV_OH) * pi(p, CV_OW);
  const rows = pi(p, CV_C) * pi(p, CV_KH) * pi(p, CV_KW);
  const per = grain(rows, cols, nt);
  for (let g = nextGroup(p, per); g < rows; g = nextGroup(p, per)) {
    const end = imin(rows, g + per);
    for (let ck = g; ck < end; ck++) {
      im2colRow(p, x, ck, 0, cols, dst + ((<usize> ck * <usize> cols) << 2));
    }
  }
}

/**
 * Items are (channel, image) planes of the input gradient, so no two threads add into the same
 * element: each walks its channel's kh*kw rows over its image's positions. The planes must hold
 * zeros (or a sum to add to) beforehand.
 */
export function col2im_task(p: usize, _tid: i32, nt: i32): void {
  const gx = <usize> pi(p, CONV_X);
  const src = <usize> pi(p, CONV_Y);
  const images = pi(p, CONV_N);
  const positions = pi(p, CV_OH) * pi(p, CV_OW);
  const cols = images * positions;
  const khw = pi(p, CV_KH) * pi(p, CV_KW);
  const planes = pi(p, CV_C) * images;
  const per = grain(planes, khw * positions, nt);
  for (let g = nextGroup(p, per); g < planes; g = nextGroup(p, per)) {
    const end = imin(planes, g + per);
    for (let plane = g; plane < end; plane++) {
      const c = plane / images;
      const q0 = (plane - c * images) * positions;
      for (let r = 0; r < khw; r++) {
        const ck = c * khw + r;
        const from = src + ((<usize> ck * <usize> cols + <usize> q0) << 2);
        col2imRowAdd(p, gx, ck, q0, positions, from);
      }
    }
  }
}
