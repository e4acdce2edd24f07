"""Training throughput of every registered model at the input size its seed study uses.

One step is forward + cross-entropy + backward on a random batch (no optimizer step), with the
training loop's device setup (``pick_device``: bfloat16/float16 autocast on CUDA). A few warm-up steps
are not timed; then clips/s (images/s for image models) = batch * steps / seconds.

    python bench/models.py [--device cuda] [--models r2plus1d,c3d] [--steps-scale 2]

Prints one table row per model: model, input (one example), batch, trainable params, rate and its
unit (clips/s or images/s), device. On a busy shared CPU the rates are noisy (few steps).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search.device import Device, pick_device  # noqa: E402
from search.models import MODELS, build_model, count_parameters  # noqa: E402

NUM_CLASSES = 10


@dataclass(frozen=True)
class Case:
    model: str
    example: tuple[int, ...]  # one example: (C, T, H, W) or (C, H, W)
    batch: int
    warmup: int
    steps: int  # on the CPU; scaled up on CUDA, where steps are cheap
    knobs: dict[str, Any] = field(default_factory=dict)


CASES = (
    Case("convlstm", (3, 16, 64, 64), 4, 1, 3, {"hidden_channels": 32, "stem": True}),
    Case("c3d", (3, 16, 64, 64), 4, 1, 3, {"width": 32, "depth": 4}),
    Case("r2plus1d", (3, 16, 112, 112), 4, 1, 2, {"blocks": 8}),
    Case("r2plus1d_attention", (3, 16, 112, 112), 4, 1, 2, {"blocks": 8}),
    Case("cnn2d", (3, 128, 128), 32, 2, 5),
    Case("resnet18", (3, 128, 128), 32, 2, 5),
)


def _sync(device: Device) -> None:
    if device.is_cuda:
        torch.cuda.synchronize(device.torch_device)


def measure(case: Case, device: Device, steps_scale: float) -> tuple[int, float]:
    """(trainable parameters, examples per second)."""
    torch.manual_seed(0)
    dev = device.torch_device
    model = build_model(case.model, num_classes=NUM_CLASSES, in_channels=case.example[0],
                        dropout=0.0, **case.knobs).to(dev).train()
    x = torch.rand(case.batch, *case.example, device=dev)
    y = torch.randint(0, NUM_CLASSES, (case.batch,), device=dev)
    scale = steps_scale * (10 if device.is_cuda else 1)
    warmup, steps = max(1, round(case.warmup * scale)), max(1, round(case.steps * scale))

    def step() -> None:
        with device.autocast():
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        model.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return count_parameters(model), case.batch * steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best one)")
    parser.add_argument("--models", default=",".join(c.model for c in CASES),
                        help="comma-separated subset of: %(default)s")
    parser.add_argument("--steps-scale", type=float, default=1.0,
                        help="multiply every warm-up and timed step count (default 1)")
    args = parser.parse_args(argv)
    wanted = args.models.split(",")
    unknown = [name for name in wanted if name not in {c.model for c in CASES}]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {parser.get_default('models')}")
    device = pick_device(args.device)

    header = f"{'model':<20} {'input':<16} {'batch':>5} {'params':>11} {'rate':>9} {'unit':<9} device"
    print(header)
    print("-" * len(header))
    for case in CASES:
        if case.model not in wanted:
            continue
        params, rate = measure(case, device, args.steps_scale)
        unit = "clips/s" if MODELS[case.model].input == "video" else "images/s"
        shape = "x".join(map(str, case.example))
        print(f"{case.model:<20} {shape:<16} {case.batch:>5} {params:>11,} {rate:>9.2f} {unit:<9} "
              f"{device.describe()}", flush=True)


if __name__ == "__main__":
    main()
