"""PyTorch peer of `deno task bench`: the same workloads, timed the same way, on the CPU or on
CUDA in FP32 or mixed precision (torch_place.py; the trunk rows are in torch_trunks.py).

Reads one JSON request from argv[1] and prints JSON lines on stdout (see bench/peers/protocol.ts:
its info, each row's start, first-call time and result), so the Deno side stays the only place
that formats results and can kill a call that runs far past the budget. Each timed run ends
with the result in host memory (the loss as a Python float for training steps), as ours does.
"""

import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_place import Place
from torch_trunks import trunk_step_fn


def conv_bn(c_in, c_out, k, stride=1, pad=0):
    return [nn.Conv2d(c_in, c_out, k, stride, pad, bias=False), nn.BatchNorm2d(c_out)]


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.body = nn.Sequential(
            *conv_bn(c_in, c_out, 3, stride, 1), nn.ReLU(), *conv_bn(c_out, c_out, 3, 1, 1)
        )
        self.short = (
            nn.Sequential(*conv_bn(c_in, c_out, 1, stride))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x):
        return F.relu(self.body(x) + self.short(x))


def resnet18(classes, small_input):
    """torchvision's resnet18 layout; `small_input` swaps the 7x7/2 stem and its max-pool for
    one 3x3/1 convolution (the CIFAR variant), matching nn/models/resnet.ts."""
    if small_input:
        stem = [*conv_bn(3, 64, 3, 1, 1), nn.ReLU()]
    else:
        stem = [*conv_bn(3, 64, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    layers, c = [], 64
    for width, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [BasicBlock(c, width, stride), BasicBlock(width, width, 1)]
        c = width
    return nn.Sequential(
        *stem, *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)
    )


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 10),
    )


def colored_mnist_net():
    return nn.Sequential(
        nn.BatchNorm2d(3),
        nn.Conv2d(3, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )


def synth_trunk(width):
    """nn/models/synth-cnn.ts: four conv3x3 + BN + ReLU stages, the first three max-pooled."""
    layers, c = [], 3
    for out, pool in [(width, True), (2 * width, True), (4 * width, True), (4 * width, False)]:
        layers += [*conv_bn(c, out, 3, 1, 1), nn.ReLU()] + ([nn.MaxPool2d(2)] if pool else [])
        c = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()), c


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -0.1 * g


def synth_debias_step_fn(w, place):
    """The study's TABE + GRL (CLGR) two-phase step on the synthetic trunk, as debias/train-step.ts
    runs it: phase 1 BCE + alpha x confusion, stepping the encoder and main head and the boosted
    encoder optimiser; phase 2 a fresh forward, gradient reversal, weighted cross-entropy of the
    bias head, stepping the main optimiser and the head's."""
    g = torch.Generator().manual_seed(0)
    n, size = w["batch"], w["size"]
    dev = place.device
    encoder, features = synth_trunk(w["width"])
    main = nn.Sequential(nn.Dropout(0.5), nn.Linear(features, 1))
    aux = nn.Linear(features, 2)
    for m in (encoder, main, aux):
        m.to(dev)
    x = torch.randn(n, 3, size, size, generator=g).to(dev)
    target = (torch.arange(n) % 2).float().to(dev)
    marked = (torch.arange(n) % 3 == 0).long().to(dev)
    counts = torch.bincount(marked, minlength=2).float()
    inverse = n / counts
    weights = inverse / inverse.sum()
    sgd = lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9)
    opt_main = sgd(list(encoder.parameters()) + list(main.parameters()))
    opt_conf = sgd(encoder.parameters())
    opt_aux = sgd(aux.parameters())
    for m in (encoder, main, aux):
        m.train()

    def step():
        for o in (opt_main, opt_conf, opt_aux):
            o.zero_grad()
        u = torch.rand(n, 2, generator=g).to(dev)
        with place.autocast():
            feat = encoder(x)
            loss_main = F.binary_cross_entropy_with_logits(main(feat).squeeze(1), target)
            confusion = -0.03 * (u * F.log_softmax(aux(feat), 1)).sum() / n
        (loss_main + confusion).backward()
        opt_main.step()
        opt_conf.step()
        opt_main.zero_grad()
        opt_aux.zero_grad()
        with place.autocast():
            feat2 = GradReverse.apply(encoder(x))
            loss_aux = F.cross_entropy(aux(feat2), marked, weight=weights)
        loss_aux.backward()
        opt_main.step()
        opt_aux.step()
        return loss_main.item() + loss_aux.item()

    return step


def train_step_fn(model, batch, size, classes, weight_decay, place):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, size, size, generator=g).to(place.device)
    y = torch.randint(0, classes, (batch,), generator=g).to(place.device)
    model.to(place.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=weight_decay)
    model.train()

    def step():
        opt.zero_grad()
        with place.autocast():
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def conv_shapes(w, device="cpu"):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(w["n"], w["c"], w["h"], w["w"], generator=g)
    k = torch.randn(w["o"], w["c"], w["k"], w["k"], generator=g) * 0.05
    return x.to(device), k.to(device)


def repeated(w, launch, host):
    """A kernel row's call: `repeat` launches (1 unless --repeat), the last one read back."""
    def step():
        for _ in range(w.get("repeat", 1) - 1):
            launch()
        return host(launch())

    return step


def make_step(w, place):
    """One timed call of a row; each ends with its result in host memory as FP32."""
    kind, dev = w["kind"], place.device

    def host(out):
        return tuple(place.to_host(t) for t in out) if isinstance(out, tuple) else place.to_host(out)

    if kind == "matmul":
        g = torch.Generator().manual_seed(0)
        a = torch.randn(w["m"], w["k"], generator=g).to(dev)
        b = torch.randn(w["k"], w["n"], generator=g).to(dev)

        def launch():
            with place.autocast():
                return torch.mm(a, b)

        return repeated(w, launch, host)
    if kind == "conv_fwd":
        x, k = conv_shapes(w, dev)

        def launch():
            with place.autocast():
                return F.conv2d(x, k, padding=w["pad"])

        return repeated(w, launch, host)
    if kind == "conv_bwd":
        x, k = conv_shapes(w, dev)
        gy = torch.randn(F.conv2d(x, k, padding=w["pad"]).shape, device=dev)

        def launch():
            with place.autocast():
                gx = torch.nn.grad.conv2d_input(x.shape, k, gy, padding=w["pad"])
                gw = torch.nn.grad.conv2d_weight(x, k.shape, gy, padding=w["pad"])
            return gx, gw

        return repeated(w, launch, host)
    if kind == "resnet18":
        model = resnet18(w["classes"], False)
        return train_step_fn(model, w["batch"], w["size"], w["classes"], 0.0, place)
    if kind == "small_cnn":
        return train_step_fn(small_cnn(), w["batch"], w["size"], w["classes"], 0.0, place)
    if kind == "colored_mnist":
        net = colored_mnist_net()
        return train_step_fn(net, w["batch"], w["size"], w["classes"], 5e-4, place)
    if kind == "synth_debias":
        return synth_debias_step_fn(w, place)
    raise ValueError(f"torch_bench.py: unknown workload kind {kind!r}")


def emit(line):
    print(json.dumps(line), flush=True)


def timed(step):
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def measure(step, warmup, runs, budget_s, estimate_s, slack, row_id):
    """Mirrors bench/measure.ts: median seconds of `runs` calls after `warmup` untimed ones, or
    a skip when the guess or the first call shows the cell would outlast `budget_s`."""
    calls = max(1, warmup) + runs
    if estimate_s is not None and estimate_s * calls > slack * budget_s:
        return {"kind": "skipped", "reason": f"~{estimate_s:.1f} s/call estimated"}
    first = timed(step)
    emit({"first": row_id, "seconds": first})
    # the first call pays for set-up; a second one decides when the first alone looks slow
    warmed, probe = 1, first
    if probe * (calls - 1) > budget_s and warmup >= 2 and first < budget_s / 3:
        warmed, probe = 2, timed(step)
    if probe * (calls - warmed) > budget_s:
        return {"kind": "skipped", "reason": f"{probe:.1f} s for warm-up call {warmed}"}
    for _ in range(warmed, warmup):
        step()
    times = []
    for _ in range(runs):
        times.append(timed(step))
    return {"kind": "ok", "seconds": statistics.median(times), "runs": runs, "firstS": first}


def calibrate(spec, flops):
    """FLOP/s of a small convolution, for guessing slow cells before their first call."""
    x, k = conv_shapes(spec)
    with torch.no_grad():
        F.conv2d(x, k, padding=spec["pad"])
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            F.conv2d(x, k, padding=spec["pad"])
            times.append(time.perf_counter() - t0)
    return flops / statistics.median(times)


def main():
    req = json.loads(sys.argv[1])
    torch.set_num_threads(req["threads"])
    torch.manual_seed(0)
    rate = calibrate(req["calibration"], req["calibrationFlops"])
    place = Place(req.get("device", "cpu"))
    info = f"torch {torch.__version__}, {torch.get_num_threads()} threads{place.describe()}"
    emit({"info": info})
    for w in req["workloads"]:
        grad = w["kind"] not in ("matmul", "conv_fwd", "conv_bwd")
        emit({"start": w["id"]})
        try:
            memory = None
            if w["kind"] == "trunk":
                step, memory = trunk_step_fn(w, place)
            else:
                step = make_step(w, place)
            # the calibration ran on the CPU: no guess for another device
            estimate = None if place.cuda else w["flops"] / rate
            with torch.enable_grad() if grad else torch.no_grad():
                out = measure(step, req["warmup"], req["runs"], req["budgetS"],
                              estimate, req["estimateSlack"], w["id"])
            held = memory() if memory else None
            if held and out["kind"] == "ok":
                out["memory"] = held
        except Exception as err:  # a failed row is reported, the others still run
            out = {"kind": "error", "reason": f"{type(err).__name__}: {err}"}
        emit({"id": w["id"], **out})


if __name__ == "__main__":
    main()
