"""A C3D-style 3D CNN (Tran et al., 2015) for video classification: space-time convolutions.

Used for the Jester hand-gesture setup. As in C3D, the first block pools only in space, so early
layers still see every frame; later blocks pool time too.
"""

from __future__ import annotations

from torch import nn

from search.models.checks import check_common, check_int
from search.models.conv_stack import ConvStack


def _block(index: int, in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv3d 3x3x3 + batch norm + ReLU + max pool, in space only for the first block (``index``
    0), in time too after. ``ceil_mode`` keeps a size-1 dimension at 1 instead of pooling it away,
    so short or tiny clips work at any depth."""
    pool = (1, 2, 2) if index == 0 else (2, 2, 2)
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False),  # BN supplies the bias
        nn.BatchNorm3d(out_channels),
        nn.ReLU(inplace=True),
        nn.MaxPool3d(pool, ceil_mode=True))


class C3D(ConvStack):
    """A ``ConvStack`` of 3D blocks. Input (N, C, T, H, W); output logits (N, num_classes)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, depth: int = 3,
                 dropout: float = 0.0):
        super().__init__(_block, nn.AdaptiveAvgPool3d(1), num_classes=num_classes,
                         in_channels=in_channels, width=width, depth=depth, dropout=dropout)


def c3d(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, width: int = 16,
        depth: int = 3) -> nn.Module:
    """A C3D-style clip classifier with ``depth`` blocks, the first ``width`` channels wide."""
    check_common("c3d", num_classes, in_channels, dropout)
    check_int("c3d", "width", width, 1)
    check_int("c3d", "depth", depth, 1, 5)
    return C3D(num_classes, in_channels, width, depth, dropout)
