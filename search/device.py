"""Where a trial trains: CUDA, else Apple's MPS, else the CPU; with mixed precision on CUDA."""

from __future__ import annotations

import contextlib
import random
from dataclasses import dataclass

import numpy as np
import torch

from search.record.errors import PlateauError


@dataclass(frozen=True)
class Device:
    """The training device and how to use it well."""

    torch_device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype; None: full precision

    @property
    def is_cuda(self) -> bool:
        return self.torch_device.type == "cuda"

    @property
    def needs_grad_scaler(self) -> bool:
        """float16 gradients underflow without loss scaling; bfloat16 ones do not."""
        return self.amp_dtype is torch.float16

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.torch_device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        if self.is_cuda:
            name = torch.cuda.get_device_name(self.torch_device)
            return f"cuda ({name}, {str(self.amp_dtype).removeprefix('torch.')} autocast)"
        if self.torch_device.type == "cpu":
            return f"cpu ({torch.get_num_threads()} threads)"
        return self.torch_device.type


def pick_device(name: str | None = None) -> Device:
    """``name`` ("cuda", "mps", "cpu") or the best available; sets cuDNN autotuning on CUDA."""
    if name is None:
        if torch.cuda.is_available():
            name = "cuda"
        elif torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    available = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(),
                 "cpu": True}
    if not available.get(name, False):
        raise PlateauError(f"device '{name}' is not available on this machine; leave --device out "
                           f"to use the best one there is.")
    device = torch.device(name)
    amp_dtype = None
    if device.type == "cuda":
        # Fixed input sizes in every batch: let cuDNN pick the fastest convolution algorithms.
        torch.backends.cudnn.benchmark = True
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return Device(device, amp_dtype)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so a trial can be re-run."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
