/**
 * The dense element-wise task: unary ops, axpby, casts, fills and the SGD and Adam steps share
 * one claim loop over ranges of DENSE_N elements, and DENSE_KIND picks the range kernel. A table
 * of function references would be a data segment, which the build rejects, hence the if chain.
 */

import { D_ADAM, D_AXPBY, D_CAST, D_FILL, D_SGD, D_UNARY, DENSE_KIND, DENSE_N } from "./slots";
import { denseGrain, imin, nextGroup, pi } from "./common";
import { axpbyRange, castRange, fillRange, unaryRange } from "./elementwise";
import { adamRange, sgdRange } from "./optim";

export function dense_task(p: usize, _tid: i32, nt: i32): void {
  const kind = pi(p, DENSE_KIND);
  const n = pi(p, DENSE_N);
  const per = denseGrain(n, nt);
  for (let start = nextGroup(p, per); start < n; start = nextGroup(p, per)) {
    const end = imin(n, start + per);
    if (kind == D_UNARY) unaryRange(p, start, end);
    else if (kind == D_AXPBY) axpbyRange(p, start, end);
    else if (kind == D_CAST) castRange(p, start, end);
    else if (kind == D_FILL) fillRange(p, start, end);
    else if (kind == D_SGD) sgdRange(p, start, end);
    else if (kind == D_ADAM) adamRange(p, start, end);
  }
}
