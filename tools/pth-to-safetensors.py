"""Converts a PyTorch `.pth` / `.pt` state dict (torchvision's ImageNet files, or a checkpoint
of your own) into a `.safetensors` file that `cli.ts train --weights PATH` loads strictly.

What it does to the keys, and says so:
- unwraps a checkpoint dict holding the weights under "state_dict", "model_state_dict" or
  "model" (only when that value is itself a dict of tensors);
- strips each --strip-prefix (repeatable), and "module." (DataParallel) when every key has it;
- renames torchvision's pre-2018 DenseNet keys (`denselayer1.norm.1.weight` ->
  `denselayer1.norm1.weight`), the rename torchvision itself applies when loading them.
Tensors keep their dtype (F32, F16, BF16, I64 ...; the toolkit's reader converts); a value that
is not a tensor is an error naming its key. The output is written atomically.

Needs torch (Debian: python3-torch). Writes with `safetensors.torch.save_file` when the wheel
is installed, else with the spec-following writer in tools/fixtures/safetensors_io.py.

Usage: /usr/bin/python3 tools/pth-to-safetensors.py IN.pth OUT.safetensors [--strip-prefix P]
"""

import argparse
import os
import re
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import safetensors_io  # noqa: E402

WRAPPERS = ("state_dict", "model_state_dict", "model")
OLD_DENSENET = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def unwrap(obj, source):
    """The dict of tensors inside what torch.load returned."""
    if not isinstance(obj, dict):
        raise SystemExit(f"{source}: holds a {type(obj).__name__}, not a state dict")
    for key in WRAPPERS:
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(torch.is_tensor(v) for v in inner.values()):
            print(f"{source}: weights taken from its {key!r} entry")
            return inner
    return obj


def convert_keys(state, strip, source):
    """Renamed copy of `state`; prints what was renamed."""
    prefixes = list(strip)
    if state and all(k.startswith("module.") for k in state) and "module." not in prefixes:
        prefixes.append("module.")
        print(f"{source}: every key starts with 'module.' (DataParallel); stripped")
    out = {}
    renamed = 0
    for key, value in state.items():
        if not torch.is_tensor(value):
            raise SystemExit(f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor")
        new = key
        for p in prefixes:
            if new.startswith(p):
                new = new[len(p) :]
        m = OLD_DENSENET.match(new)
        if m:
            new = m.group(1) + m.group(2)
            renamed += 1
        if new in out:
            raise SystemExit(f"{source}: keys {key!r} and another both become {new!r}")
        out[new] = value.detach().cpu().contiguous()
    if renamed:
        print(f"{source}: {renamed} old DenseNet key(s) renamed (norm.1 -> norm1, ...)")
    return out


def save(path, tensors, metadata):
    try:
        from safetensors.torch import save_file
    except ImportError:
        safetensors_io.save(path, tensors, metadata)
        return
    partial = path + ".partial"
    # save_file refuses tensors that share storage; clone makes each its own.
    save_file({k: v.clone() for k, v in tensors.items()}, partial, metadata)
    os.replace(partial, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="a .pth / .pt file saved with torch.save")
    parser.add_argument("output", help="the .safetensors file to write")
    parser.add_argument("--strip-prefix", action="append", default=[], metavar="P")
    args = parser.parse_args(argv)
    try:
        obj = torch.load(args.input, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds; the message is what matters
        raise SystemExit(f"cannot read {args.input} as a PyTorch file: {err}")
    tensors = convert_keys(unwrap(obj, args.input), args.strip_prefix, args.input)
    if not tensors:
        raise SystemExit(f"{args.input}: no tensors found")
    save(args.output, tensors, {"format": "pt", "source": os.path.basename(args.input)})
    n = sum(t.numel() for t in tensors.values())
    print(f"wrote {args.output}: {len(tensors)} tensors, {n:,} values")


if __name__ == "__main__":
    main()
