"""Optimizers and schedules by name take the trial's hyperparameters."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from search.optimizers import OPTIMIZERS, build_optimizer, build_schedule
from tiny import HP


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_each_optimizer_takes_lr_and_weight_decay_and_steps(name):
    hp = dataclasses.replace(HP, optimizer=name, lr=0.05, weight_decay=0.01,
                             momentum=0.8 if name == "sgd" else None)
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = build_optimizer([weight], hp)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.05 and group["weight_decay"] == 0.01
    assert group.get("amsgrad", False) is (name == "amsgrad")
    if name == "sgd":
        assert group["momentum"] == 0.8
    (weight ** 2).sum().backward()
    optimizer.step()
    assert torch.all(weight < 1)


def test_cosine_schedule_decays_to_zero_over_max_epochs_and_constant_has_none():
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = build_optimizer([weight], dataclasses.replace(HP, lr=0.1))
    assert build_schedule(optimizer, HP, 10) is None
    schedule = build_schedule(optimizer, dataclasses.replace(HP, lr_schedule="cosine"), 4)
    lrs = []
    for _ in range(4):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[0] == pytest.approx(0.1) and lrs == sorted(lrs, reverse=True)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_warmup_cosine_ramps_up_then_decays():
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = build_optimizer([weight], dataclasses.replace(HP, lr=0.1))
    schedule = build_schedule(optimizer, dataclasses.replace(HP, lr_schedule="warmup_cosine"), 20)
    lrs = []
    for _ in range(20):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    peak = lrs.index(max(lrs))
    assert peak == 2 and lrs[0] < lrs[1] < lrs[2] == pytest.approx(0.1)  # warm-up of 2 epochs
    assert lrs[peak:] == sorted(lrs[peak:], reverse=True) and lrs[-1] < 0.01
