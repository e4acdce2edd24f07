"""The small 2D CNN: batch-norm switch, 8x8 digits at any depth, parameter counts, arguments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from search.models import count_parameters
from search.models.cnn2d import cnn2d


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_digits_8x8_work_at_any_depth(depth: int) -> None:
    model = cnn2d(10, in_channels=1, width=4, depth=depth)
    logits = model(torch.rand(2, 1, 8, 8))
    assert logits.shape == (2, 10)
    assert torch.isfinite(logits).all()


def test_batch_norm_switch() -> None:
    with_bn = cnn2d(3, width=4, batch_norm=True)
    without = cnn2d(3, width=4, batch_norm=False)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 2
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())


def test_parameter_count_with_batch_norm() -> None:
    model = cnn2d(10, in_channels=1, width=4, depth=2, batch_norm=True)
    block0 = 1 * 4 * 3 * 3 + 2 * 4  # conv 1 -> 4, 3x3, no bias (batch norm shifts); batch norm
    block1 = 4 * 8 * 3 * 3 + 2 * 8  # conv 4 -> 8 (width doubles); batch norm
    head = 8 * 10 + 10
    assert count_parameters(model) == block0 + block1 + head == 438


def test_parameter_count_without_batch_norm() -> None:
    model = cnn2d(10, in_channels=1, width=4, depth=2, batch_norm=False)
    block0 = 1 * 4 * 3 * 3 + 4  # conv with bias
    block1 = 4 * 8 * 3 * 3 + 8
    head = 8 * 10 + 10
    assert count_parameters(model) == block0 + block1 + head == 426


@pytest.mark.parametrize("knob, value", [
    ("depth", 0), ("depth", 6), ("width", 0), ("width", -8), ("batch_norm", 0), ("batch_norm", "no"),
    ("block_dropout", 1.0), ("block_dropout", -0.1), ("block_dropout", True),
])
def test_invalid_knobs_are_rejected(knob: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"'{knob}' parameter of cnn2d .* Got {value!r}"):
        cnn2d(2, **{knob: value})  # type: ignore[arg-type]


def test_block_dropout_puts_dropout_at_the_end_of_every_block() -> None:
    model = cnn2d(3, width=4, depth=3, block_dropout=0.25, dropout=0.5)
    assert [block[-1].p for block in model.features] == [0.25, 0.25, 0.25]
    assert model.dropout.p == 0.5  # the shared knob stays before the classifier
    assert not any(isinstance(m, nn.Dropout) for m in cnn2d(3, width=4).features.modules())
    model.train()
    x = torch.rand(4, 3, 16, 16)
    assert not torch.equal(model(x), model(x))  # active in training
    model.eval()
    assert torch.equal(model(x), model(x))
