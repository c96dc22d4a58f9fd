"""Where a PyTorch column runs and in which precision, for torch_bench.py and torch_trunks.py.

- "cpu": FP32 on the CPU threads the request names.
- "cuda": FP32 on CUDA's first GPU with TF32 off, so cuBLAS and cuDNN do the same arithmetic as
  our f32 kernels (issue 14's baseline).
- "cuda-amp": the everyday choice on a recent NVIDIA card: TF32 on and every forward pass under
  autocast to bfloat16 (no loss scaler needed, unlike float16). Kernel rows run their op under
  the same autocast and read back in FP32.
"""

import contextlib

import torch


class Place:
    def __init__(self, name):
        if name not in ("cpu", "cuda", "cuda-amp"):
            raise ValueError(f"unknown PyTorch place {name!r} (cpu, cuda, cuda-amp)")
        self.name = name
        self.device = "cpu" if name == "cpu" else "cuda"
        self.amp = name == "cuda-amp"
        if self.device == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = self.amp
            torch.backends.cudnn.allow_tf32 = self.amp

    @property
    def cuda(self):
        return self.device == "cuda"

    def autocast(self):
        """The context every forward pass and kernel row runs in."""
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)

    def describe(self):
        if not self.cuda:
            return ""
        precision = "TF32 on, autocast bfloat16" if self.amp else "FP32 (TF32 off)"
        return f", {torch.cuda.get_device_name(0)}, {precision}"

    def to_host(self, t):
        """The result in host memory as FP32, which also waits for the GPU to finish."""
        return t.float().cpu().numpy()
