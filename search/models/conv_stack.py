"""``ConvStack``: the layout the small CNNs share (``cnn2d`` for images, ``c3d`` for clips): conv
blocks whose width doubles each block, global average pool, dropout, linear."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class ConvStack(nn.Module):
    """``depth`` conv blocks whose width doubles each block, global average pool, dropout, linear.

    ``block(index, in_channels, out_channels)`` makes each block, the first ``width`` channels wide;
    ``pool`` is the global average pool for the input's rank. Output logits (N, num_classes).
    """

    def __init__(self, block: Callable[[int, int, int], nn.Module], pool: nn.Module, *,
                 num_classes: int, in_channels: int, width: int, depth: int, dropout: float):
        super().__init__()
        channels = [in_channels] + [width * 2 ** index for index in range(depth)]
        self.features = nn.Sequential(*(block(index, channels[index], channels[index + 1])
                                        for index in range(depth)))
        self.pool = pool
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels[-1], num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.pool(self.features(inputs)).flatten(1)
        return self.head(self.dropout(features))
