"""A small 2D CNN for images: sklearn's 8x8 digits and the vehicle-photo setup.

The vehicle setup's seed article compared no dropout, dropout in every conv block, batch norm and
both, hence the ``batch_norm`` and ``block_dropout`` knobs next to the shared ``dropout`` (which acts
before the classifier, as in every model here).
"""

from __future__ import annotations

from torch import nn

from search.models.conv_stack import ConvStack
from search.models.checks import check_bool, check_common, check_int


def _block(in_channels: int, out_channels: int, batch_norm: bool,
           block_dropout: float) -> nn.Sequential:
    """Conv 3x3 (+ batch norm) + ReLU + 2x2 max pool (+ dropout). ``ceil_mode`` keeps a 1x1 map at
    1x1, so 8x8 digits work at any depth. With batch norm the conv has no bias (BN's shift
    replaces it)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
    if block_dropout > 0:
        layers.append(nn.Dropout(block_dropout))
    return nn.Sequential(*layers)


class CNN2d(ConvStack):
    """A ``ConvStack`` of 2D blocks. Input (N, C, H, W); output logits (N, num_classes)."""

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 32, depth: int = 2,
                 batch_norm: bool = True, dropout: float = 0.0, block_dropout: float = 0.0):
        super().__init__(lambda _, c_in, c_out: _block(c_in, c_out, batch_norm, block_dropout),
                         nn.AdaptiveAvgPool2d(1), num_classes=num_classes,
                         in_channels=in_channels, width=width, depth=depth, dropout=dropout)


def cnn2d(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, width: int = 32,
          depth: int = 2, batch_norm: bool = True, block_dropout: float = 0.0) -> nn.Module:
    """A small image classifier with ``depth`` blocks, the first ``width`` channels wide;
    ``block_dropout`` > 0 adds dropout at the end of every block (the seed article's placement)."""
    check_common("cnn2d", num_classes, in_channels, dropout)
    check_int("cnn2d", "width", width, 1)
    check_int("cnn2d", "depth", depth, 1, 5)
    check_bool("cnn2d", "batch_norm", batch_norm)
    if isinstance(block_dropout, bool) or not isinstance(block_dropout, (int, float)) \
            or not 0 <= block_dropout < 1:
        raise ValueError(f"The 'block_dropout' parameter of cnn2d must be a float in [0, 1). "
                         f"Got {block_dropout!r} instead.")
    return CNN2d(num_classes, in_channels, width, depth, batch_norm, dropout, float(block_dropout))
