"""Losses by name: focal and weighted cross entropy behave as their papers define them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from search.losses import CLASS_WEIGHTINGS, LOSSES, FocalLoss, build_loss, class_weights
from search.space import HYPERPARAMETERS
from tiny import HP



def test_every_loss_the_space_accepts_is_built():
    check = HYPERPARAMETERS["loss"].check
    assert all(check(name) is None for name in LOSSES) and check("hinge") is not None
    logits, target = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    for name in LOSSES:
        loss = build_loss(dataclasses.replace(HP, loss=name), np.array([4, 2, 1]))(logits, target)
        assert loss.ndim == 0 and torch.isfinite(loss)


def test_focal_with_gamma_zero_is_cross_entropy():
    logits, target = torch.randn(16, 5), torch.randint(0, 5, (16,))
    assert torch.allclose(FocalLoss(0.0)(logits, target), F.cross_entropy(logits, target))


def test_focal_down_weights_easy_examples_more_than_hard_ones():
    easy = torch.tensor([[4.0, 0.0]])  # p_t ~ 0.98
    hard = torch.tensor([[0.0, 1.0]])  # p_t ~ 0.27
    target = torch.tensor([0])
    ratio_easy = FocalLoss(2.0)(easy, target) / F.cross_entropy(easy, target)
    ratio_hard = FocalLoss(2.0)(hard, target) / F.cross_entropy(hard, target)
    p_easy = torch.softmax(easy, 1)[0, 0]
    assert ratio_easy.item() == pytest.approx(((1 - p_easy) ** 2).item(), rel=1e-4)
    assert ratio_easy.item() < 0.01 and ratio_hard.item() > 0.5


def test_inverse_frequency_weights_are_n_over_k_times_count():
    counts = np.array([60, 30, 10])
    expected = counts.sum() / (len(counts) * counts)
    assert torch.allclose(class_weights(counts, "inverse_frequency"),
                          torch.tensor(expected, dtype=torch.float32))


def test_effective_number_weights_follow_cui_et_al():
    counts = np.array([1000, 100, 10])
    weights = class_weights(counts, "effective_number").double()
    raw = (1 - 0.999) / (1 - 0.999 ** counts)
    assert torch.allclose(weights, torch.tensor(raw * 3 / raw.sum()))
    assert weights.sum().item() == pytest.approx(3.0)
    assert weights[0] < weights[1] < weights[2]
    # Between uniform and inverse frequency: large classes are not penalised in full proportion.
    assert weights[2] / weights[0] < 1000 / 10


@pytest.mark.parametrize("method", list(CLASS_WEIGHTINGS))
def test_weighted_cross_entropy_weighs_the_minority_class_up(method):
    criterion = build_loss(dataclasses.replace(HP, loss="weighted_cross_entropy",
                                               class_weighting=method), np.array([90, 10]))
    assert criterion.weight[1] > criterion.weight[0]
