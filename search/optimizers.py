"""Optimizers and learning-rate schedules, by name."""

from __future__ import annotations

import math
import types
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

import torch

if TYPE_CHECKING:
    from search.space import Hyperparams

Params = Iterable[torch.nn.Parameter]

OPTIMIZERS: Mapping[str, Callable[[Params, "Hyperparams"], torch.optim.Optimizer]] = (
    types.MappingProxyType({
        "adam": lambda params, hp: torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.weight_decay),
        # Decoupled weight decay (Loshchilov & Hutter, 2019).
        "adamw": lambda params, hp: torch.optim.AdamW(params, lr=hp.lr,
                                                      weight_decay=hp.weight_decay),
        # The Jester seed's choice (Reddi et al., 2018); it may also do worse than Adam.
        "amsgrad": lambda params, hp: torch.optim.Adam(params, lr=hp.lr,
                                                       weight_decay=hp.weight_decay, amsgrad=True),
        "sgd": lambda params, hp: torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum,
                                                  weight_decay=hp.weight_decay),
    })
)

# Linear warm-up over this fraction of max_epochs (at least one epoch) before the cosine decay:
# Goyal et al. (2017) warm up over 5 of 90 epochs; a tenth suits the short runs of a search.
WARMUP_FRACTION = 0.1


def _warmup_cosine(optimizer: torch.optim.Optimizer, max_epochs: int):
    warmup = max(1, round(WARMUP_FRACTION * max_epochs))

    def factor(epoch: int) -> float:
        if epoch < warmup:
            return (epoch + 1) / (warmup + 1)
        return 0.5 * (1 + math.cos(math.pi * (epoch - warmup) / max(1, max_epochs - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


# name -> scheduler stepped once per epoch, given the optimizer and max_epochs (None: constant lr).
LR_SCHEDULES: Mapping[str, Callable[[torch.optim.Optimizer, int], object] | None] = (
    types.MappingProxyType({
        "constant": None,
        "cosine": lambda optimizer, max_epochs: torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max_epochs),
        "warmup_cosine": _warmup_cosine,  # linear warm-up, then cosine decay to zero
    })
)


def build_optimizer(params: Params, hp: Hyperparams) -> torch.optim.Optimizer:
    return OPTIMIZERS[hp.optimizer](params, hp)


def build_schedule(optimizer: torch.optim.Optimizer, hp: Hyperparams, max_epochs: int):
    """The epoch-wise learning-rate scheduler, or None for a constant learning rate."""
    make = LR_SCHEDULES[hp.lr_schedule]
    return make(optimizer, max_epochs) if make else None
