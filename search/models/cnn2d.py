"""A small 2D CNN for images: sklearn's 8x8 digits and the vehicle-photo setup.

The vehicle setup's seed article compared no dropout, dropout, batch norm and both, hence the
``batch_norm`` knob next to the shared ``dropout``.
"""

from __future__ import annotations

import torch
from torch import nn

from search.models.checks import check_bool, check_common, check_int


def _block(in_channels: int, out_channels: int, batch_norm: bool) -> nn.Sequential:
    """Conv 3x3 (+ batch norm) + ReLU + 2x2 max pool. ``ceil_mode`` keeps a 1x1 map at 1x1, so
    8x8 digits work at any depth. With batch norm the conv has no bias (BN's shift replaces it)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
    return nn.Sequential(*layers)


class CNN2d(nn.Module):
    """``depth`` conv blocks whose width doubles each block, global average pool, dropout, linear.

    Input (N, C, H, W); output logits (N, num_classes).
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 32, depth: int = 2,
                 batch_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        blocks = []
        channels = in_channels
        for index in range(depth):
            out_channels = width * 2 ** index
            blocks.append(_block(channels, out_channels, batch_norm))
            channels = out_channels
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.pool(self.features(images)).flatten(1)
        return self.head(self.dropout(features))


def cnn2d(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, width: int = 32,
          depth: int = 2, batch_norm: bool = True) -> nn.Module:
    """A small image classifier with ``depth`` blocks, the first ``width`` channels wide."""
    check_common("cnn2d", num_classes, in_channels, dropout)
    check_int("cnn2d", "width", width, 1)
    check_int("cnn2d", "depth", depth, 1, 5)
    check_bool("cnn2d", "batch_norm", batch_norm)
    return CNN2d(num_classes, in_channels, width, depth, batch_norm, dropout)
