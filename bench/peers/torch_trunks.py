"""The trunk rows of `deno task bench --model NAME` on PyTorch's side (bench/trunk-rows.ts is
ours): torchvision's model of that name with a 10-class classifier, one SGD-momentum step of
the cross-entropy on a fixed batch, in the precision of the column's place (torch_place.py).
Dropout and stochastic depth are off and Inception's auxiliary head is left out, as in ours.
Memory after each step: the process's resident set on the CPU; on CUDA the bytes its tensors
hold (`memory_allocated`), with `max_memory_allocated` as the peak, the measure issue 14 sets
our device memory against.
"""

import gc
import os
import resource

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision import models


def build(name, classes):
    if name == "inception_v3":
        return models.inception_v3(num_classes=classes, aux_logits=False, init_weights=False)
    model = getattr(models, name)(num_classes=classes)
    for m in model.modules():
        if isinstance(m, (nn.Dropout, torchvision.ops.StochasticDepth)):
            m.p = 0.0
    return model


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def trunk_step_fn(w, place):
    """(step, memory): one training step, and what it held after the first and last steps."""
    device = place.device
    if place.cuda:
        # an earlier row's tensors are gone by now; its peak must not count as this row's
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    model = build(w["model"], w["classes"]).to(device).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(w["batch"], 3, w["size"], w["size"], generator=g).to(device)
    y = torch.tensor([(i * 7 + 3) % w["classes"] for i in range(w["batch"])], device=device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    seen = []

    def held():
        return torch.cuda.memory_allocated() if place.cuda else _rss()

    def step():
        opt.zero_grad()
        with place.autocast():
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        value = loss.item()
        seen.append(held())
        return value

    def memory():
        if not seen:
            return None
        if place.cuda:
            peak, what = torch.cuda.max_memory_allocated(), "cuda allocated"
        else:
            peak, what = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss"
        second = seen[min(1, len(seen) - 1)]
        return {"what": what, "first": seen[0], "second": second, "last": seen[-1],
                "peak": max(peak, *seen)}

    return step, memory
