"""The C3D-style 3D CNN: pooling schedule, tiny clips, parameter count, arguments."""

from __future__ import annotations

import pytest
import torch

from search.models import count_parameters
from search.models.c3d import c3d


def test_first_block_pools_space_only_and_later_blocks_pool_time_too() -> None:
    model = c3d(3, width=4, depth=2)
    x = torch.rand(1, 3, 8, 16, 16)
    x = model.features[0](x)
    assert x.shape == (1, 4, 8, 8, 8)  # time kept
    x = model.features[1](x)
    assert x.shape == (1, 8, 4, 4, 4)  # width doubled, everything halved


@pytest.mark.parametrize("frames, size", [(2, 8), (1, 8), (3, 5)])
def test_tiny_clips_work_at_full_depth(frames: int, size: int) -> None:
    model = c3d(3, width=2, depth=5)
    logits = model(torch.rand(2, 3, frames, size, size))
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


def test_parameter_count() -> None:
    model = c3d(5, in_channels=3, width=4, depth=2)
    block0 = 3 * 4 * 3 * 3 * 3 + 2 * 4  # conv 3 -> 4, 3x3x3, no bias; batch norm
    block1 = 4 * 8 * 3 * 3 * 3 + 2 * 8  # conv 4 -> 8 (width doubles); batch norm
    head = 8 * 5 + 5
    assert count_parameters(model) == block0 + block1 + head == 1257


@pytest.mark.parametrize("knob, value", [
    ("depth", 0), ("depth", 6), ("depth", 2.0), ("width", 0), ("width", -1), ("width", 2.5),
])
def test_invalid_knobs_are_rejected(knob: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"'{knob}' parameter of c3d .* Got {value!r}"):
        c3d(2, **{knob: value})  # type: ignore[arg-type]


def test_error_message_reads_like_scikit_learn() -> None:
    with pytest.raises(ValueError) as info:
        c3d(2, depth=0)
    assert str(info.value) == "The 'depth' parameter of c3d must be an int in [1, 5]. Got 0 instead."
