"""Data augmentation on the training batch, on the training device, each example drawn anew.

The study file names the operations as one searchable string: ``none`` or operations joined by ``+``
(``random_resized_crop+color_jitter``). The geometric ones (crop, flip, affine) compose into one affine
matrix per example, applied with one ``grid_sample`` call; a clip gets the same transform in every
frame. Horizontal flip is off unless named: for sign language and left/right gestures it changes the
meaning of the example.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
import torch.nn.functional as F

# Parameters, as torchvision's transforms name them.
CROP_SCALE = (0.6, 1.0)  # RandomResizedCrop's scale: the crop's share of the frame's area
CROP_RATIO = (3 / 4, 4 / 3)  # and its aspect ratio
AFFINE_DEGREES = 10.0  # RandomAffine(degrees=10, translate=(0.15, 0.15)), as the Jester seed used
AFFINE_TRANSLATE = 0.15
JITTER = 0.2  # ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2)
TEMPORAL_SHIFT = 0.25  # a clip's frames shift by up to a quarter of its length, edges repeated
WINDOW_SCALE = (0.5, 1.0)  # random_window: the window's share of the clip's length


def _eye(n: int, device: torch.device) -> torch.Tensor:
    return torch.eye(3, device=device).repeat(n, 1, 1)


def _crop(n: int, device: torch.device) -> torch.Tensor:
    """Random resized crop, as an affine map from output to input coordinates ([-1, 1] square)."""
    area = torch.empty(n, device=device).uniform_(*CROP_SCALE)
    log_ratio = torch.empty(n, device=device).uniform_(*map(math.log, CROP_RATIO))
    width = torch.sqrt(area * log_ratio.exp()).clamp(max=1.0)
    height = torch.sqrt(area / log_ratio.exp()).clamp(max=1.0)
    matrix = _eye(n, device)
    matrix[:, 0, 0], matrix[:, 1, 1] = width, height
    matrix[:, 0, 2] = (1 - width) * torch.empty(n, device=device).uniform_(-1, 1)
    matrix[:, 1, 2] = (1 - height) * torch.empty(n, device=device).uniform_(-1, 1)
    return matrix


def _flip(n: int, device: torch.device) -> torch.Tensor:
    matrix = _eye(n, device)
    matrix[:, 0, 0] = torch.where(torch.rand(n, device=device) < 0.5, -1.0, 1.0)
    return matrix


def _affine(n: int, device: torch.device) -> torch.Tensor:
    angle = torch.empty(n, device=device).uniform_(-1, 1) * math.radians(AFFINE_DEGREES)
    matrix = _eye(n, device)
    matrix[:, 0, 0], matrix[:, 0, 1] = angle.cos(), -angle.sin()
    matrix[:, 1, 0], matrix[:, 1, 1] = angle.sin(), angle.cos()
    matrix[:, :2, 2] = torch.empty(n, 2, device=device).uniform_(-1, 1) * 2 * AFFINE_TRANSLATE
    return matrix


GEOMETRIC: Mapping[str, Callable[[int, torch.device], torch.Tensor]] = {
    "random_resized_crop": _crop,
    "horizontal_flip": _flip,
    "random_affine": _affine,
}


def _color_jitter(x: torch.Tensor) -> torch.Tensor:
    """Brightness, contrast and saturation, each scaled by a factor in [1 - JITTER, 1 + JITTER]."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)
    factor = lambda: torch.empty(shape, device=x.device).uniform_(1 - JITTER, 1 + JITTER)  # noqa
    x = x * factor()
    mean = x.mean(dim=tuple(range(1, x.dim())), keepdim=True)
    x = (x - mean) * factor() + mean
    grey = x.mean(dim=1, keepdim=True)  # channels are dim 1 for images and clips
    return ((x - grey) * factor() + grey).clamp(0, 1)


def _temporal_jitter(x: torch.Tensor) -> torch.Tensor:
    """Shift each clip's frames by a random offset, repeating the first/last frame at the edges."""
    if x.dim() != 5:
        return x
    n, _, t = x.shape[:3]
    reach = max(1, int(TEMPORAL_SHIFT * t))
    shift = torch.randint(-reach, reach + 1, (n, 1), device=x.device)
    index = (torch.arange(t, device=x.device) + shift).clamp(0, t - 1)  # (N, T)
    return x.gather(2, index[:, None, :, None, None].expand_as(x))


def _random_window(x: torch.Tensor) -> torch.Tensor:
    """A random window of consecutive frames (WINDOW_SCALE of the clip), stretched back to T frames:
    the training-time counterpart of sampling uniformly over the whole clip."""
    if x.dim() != 5:
        return x
    n, _, t = x.shape[:3]
    length = torch.empty(n, 1, device=x.device).uniform_(*WINDOW_SCALE) * (t - 1)
    start = torch.rand(n, 1, device=x.device) * (t - 1 - length)
    steps = torch.linspace(0, 1, t, device=x.device)
    index = (start + steps * length).round().long().clamp(0, t - 1)  # (N, T), non-decreasing
    return x.gather(2, index[:, None, :, None, None].expand_as(x))


OTHER: Mapping[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "color_jitter": _color_jitter,
    "temporal_jitter": _temporal_jitter,
    "random_window": _random_window,
}
OPERATIONS = (*GEOMETRIC, *OTHER)


def parse(spec: str) -> tuple[str, ...]:
    """The operations of an ``augmentation`` value; ValueError names an unknown one."""
    if spec == "none":
        return ()
    ops = tuple(op.strip() for op in spec.split("+"))
    unknown = [op for op in ops if op not in OPERATIONS]
    if unknown:
        raise ValueError(f"unknown augmentation {unknown[0]!r}; use 'none' or operations joined by "
                         f"'+' from: {', '.join(OPERATIONS)}")
    return ops


def augment(x: torch.Tensor, ops: tuple[str, ...]) -> torch.Tensor:
    """``x``: a float batch in [0, 1], (N, C, H, W) or (N, C, T, H, W), on any device."""
    geometric = [GEOMETRIC[op] for op in ops if op in GEOMETRIC]
    if geometric:
        n = x.shape[0]
        matrix = _eye(n, x.device)
        for make in geometric:
            matrix = matrix @ make(n, x.device)
        flat = x.flatten(1, -3)  # a clip's frames share the transform: (N, C*T, H, W)
        grid = F.affine_grid(matrix[:, :2], list(flat.shape), align_corners=False)
        x = F.grid_sample(flat, grid, align_corners=False).view_as(x)
    for op in ops:
        if op in OTHER:
            x = OTHER[op](x)
    return x
