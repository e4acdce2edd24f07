"""Batch augmentation: each operation does what its name says, per example, on any batch shape."""

from __future__ import annotations

import pytest
import torch

from search.augment import OPERATIONS, augment, parse


def gradient_clip(n: int = 6, t: int = 4, size: int = 16) -> torch.Tensor:
    """Clips whose brightness rises left to right and whose frames are numbered by their level."""
    ramp = torch.linspace(0, 1, size).expand(size, size)
    frames = torch.stack([ramp * 0.5 + 0.1 * f for f in range(t)])  # (T, H, W)
    return frames[None, None].repeat(n, 3, 1, 1, 1).clamp(0, 1)


@pytest.mark.parametrize("spec, ops", [("none", ()), ("color_jitter", ("color_jitter",)),
                                       ("random_affine+temporal_jitter",
                                        ("random_affine", "temporal_jitter"))])
def test_parse(spec, ops):
    assert parse(spec) == ops


def test_unknown_operation_is_named():
    with pytest.raises(ValueError, match="'mixup'"):
        parse("color_jitter+mixup")


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("shape", [(4, 3, 16, 16), (4, 3, 4, 16, 16)])
def test_each_operation_keeps_shape_and_range_and_changes_the_batch(op, shape):
    torch.manual_seed(0)
    x = torch.rand(shape)
    y = augment(x, parse(op))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    if not (op in ("temporal_jitter", "random_window") and len(shape) == 4):  # no time axis
        assert not torch.equal(x, y)


def test_horizontal_flip_mirrors_some_examples_exactly():
    torch.manual_seed(1)
    x = gradient_clip()
    y = augment(x, ("horizontal_flip",))
    mirrored = [torch.allclose(y[i], x[i].flip(-1), atol=1e-5) for i in range(len(x))]
    kept = [torch.allclose(y[i], x[i], atol=1e-5) for i in range(len(x))]
    assert all(m or k for m, k in zip(mirrored, kept)) and any(mirrored) and any(kept)


def test_geometric_transforms_are_the_same_in_every_frame_of_a_clip():
    torch.manual_seed(2)
    still = torch.rand(6, 3, 1, 16, 16).repeat(1, 1, 4, 1, 1)  # four identical frames per clip
    y = augment(still, ("random_affine", "random_resized_crop", "horizontal_flip"))
    assert not torch.equal(y, still)
    assert all(torch.equal(y[:, :, f], y[:, :, 0]) for f in range(4))
    assert not torch.allclose(y[0, :, 0], y[1, :, 0])  # but each clip has its own


def test_temporal_jitter_shifts_whole_frames():
    torch.manual_seed(3)
    x = gradient_clip(t=8)
    y = augment(x, ("temporal_jitter",))
    for clip_x, clip_y in zip(x, y):
        for frame in clip_y.unbind(1):  # every output frame is one of the input frames
            assert any(torch.equal(frame, f) for f in clip_x.unbind(1))


def test_random_window_takes_consecutive_frames_from_one_part_of_the_clip():
    torch.manual_seed(4)
    t = 16
    x = torch.arange(t, dtype=torch.float32).view(1, 1, t, 1, 1).repeat(32, 3, 1, 2, 2) / t
    y = augment(x, ("random_window",))
    frames = (y[:, 0, :, 0, 0] * t).round().long()  # which input frame each output frame is
    assert (frames.diff(dim=1) >= 0).all()  # in order: time is never reversed
    spans = frames[:, -1] - frames[:, 0]
    assert spans.min() >= (t - 1) // 2 - 1 and spans.max() <= t - 1  # WINDOW_SCALE = (0.5, 1.0)
    assert spans.float().std() > 0 and (frames[:, 0] > 0).any()  # windows differ and move
