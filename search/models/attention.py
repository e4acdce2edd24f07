"""R(2+1)D + attention, the HMDB51 seed's second model: a Perceiver-style head (Jaegle et al., 2021,
"Perceiver: General Perception with Iterative Attention") on an R(2+1)D trunk.

The trunk's feature map (N, C, T', H', W') becomes T'H'W' tokens; a few learned latent queries read
them with cross-attention, self-attention layers mix the latents, and their mean is classified. As in
the Perceiver, token positions are Fourier features of their (t, y, x) coordinates, concatenated to
the tokens before projection, so any clip size works with no maximum length.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from search.models.checks import check_int
from search.models.frozen import FrozenTrunk
from search.models.r2plus1d import (check_trunk_arguments, pretrained_trunk, trainable,
                                    trunk_channels)

BANDS = 4  # Fourier frequency bands per axis: sin and cos of pi * 2**k * coordinate, k < BANDS
POSITION_FEATURES = 3 * (1 + 2 * BANDS)  # per axis: the coordinate, then the sines and cosines


def fourier_positions(t: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(t*h*w, POSITION_FEATURES) Fourier features of the token grid, in the order of
    ``flatten(2)``; each axis' coordinates are cell centres in [-1, 1] (0 for a size-1 axis)."""
    axes = [(torch.arange(n, device=like.device, dtype=like.dtype) + 0.5) / n * 2 - 1
            for n in (t, h, w)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3, 1)
    scaled = grid * math.pi * 2.0 ** torch.arange(BANDS, device=like.device, dtype=like.dtype)
    return torch.cat([grid, scaled.sin(), scaled.cos()], dim=-1).flatten(1)


class CrossAttention(nn.Module):
    """Latents attend to tokens; residual + LayerNorm, then MLP + residual + LayerNorm (post-norm,
    as ``nn.TransformerEncoderLayer``)."""

    def __init__(self, hidden: int, heads: int, dropout: float):
        super().__init__()
        self.attend = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.ReLU(inplace=True),
                                 nn.Dropout(dropout), nn.Linear(4 * hidden, hidden))
        self.norm2 = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, latents: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        read, _ = self.attend(latents, tokens, tokens, need_weights=False)
        latents = self.norm1(latents + self.dropout(read))
        return self.norm2(latents + self.dropout(self.mlp(latents)))


class R2Plus1DAttention(FrozenTrunk):
    """Trunk -> tokens -> latent cross-attention -> self-attention -> mean -> dropout -> linear.

    Input (N, C, T, H, W); output (N, num_classes). A frozen trunk stays in eval mode.
    """

    trunk_name = "trunk"

    def __init__(self, trunk: nn.Sequential, normalize: nn.Module, channels: int,
                 num_classes: int, dropout: float, frozen: bool, latents: int, layers: int,
                 heads: int, hidden: int):
        super().__init__()
        self.normalize = normalize
        self.trunk = trunk
        self.frozen = frozen
        self.project = nn.Linear(channels + POSITION_FEATURES, hidden)
        self.token_norm = nn.LayerNorm(hidden)
        self.latents = nn.Parameter(torch.randn(latents, hidden) * 0.02)
        self.cross = CrossAttention(hidden, heads, dropout)
        self.encoder = nn.Sequential(*(
            nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=4 * hidden, dropout=dropout,
                                       batch_first=True) for _ in range(layers)))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        features = self.trunk(self.normalize(clips))  # (N, C, T', H', W')
        n, _, t, h, w = features.shape
        tokens = features.flatten(2).transpose(1, 2)  # (N, T'H'W', C)
        positions = fourier_positions(t, h, w, tokens).expand(n, -1, -1)
        tokens = self.token_norm(self.project(torch.cat([tokens, positions], dim=-1)))
        latents = self.cross(self.latents.expand(n, -1, -1), tokens)
        latents = self.encoder(latents)
        return self.head(self.dropout(latents.mean(dim=1)))

    def parameter_groups(self) -> dict[str, int]:
        """Trainable parameters of the CNN trunk, the attention part and the classifier."""
        cnn, head = trainable(self.trunk), trainable(self.head)
        return {"cnn": cnn, "attention": trainable(self) - cnn - head, "head": head}


def r2plus1d_attention(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0,
                       blocks: int = 8, latents: int = 8, layers: int = 2, heads: int = 4,
                       hidden: int = 256, pretrained: str = "", freeze: bool = False) -> nn.Module:
    """R(2+1)D trunk (``blocks``, ``pretrained``, ``freeze`` as in ``r2plus1d``; ``freeze`` trains
    the attention and classifier only) + ``latents`` queries of width ``hidden`` with ``heads``
    heads, then ``layers`` self-attention layers (feed-forward width 4 * hidden). ``dropout`` is
    used in the attention blocks and before the classifier."""
    name = "r2plus1d_attention"
    check_trunk_arguments(name, num_classes, in_channels, dropout, blocks, pretrained, freeze)
    check_int(name, "latents", latents, 1, 1024)
    check_int(name, "layers", layers, 0, 24)
    check_int(name, "heads", heads, 1, 64)
    check_int(name, "hidden", hidden, 1, 4096)
    if hidden % heads:
        raise ValueError(f"The 'hidden' parameter of {name} must be a multiple of 'heads' "
                         f"({heads}). Got {hidden!r} instead.")
    trunk, normalize = pretrained_trunk(name, blocks, in_channels, pretrained, freeze)
    return R2Plus1DAttention(trunk, normalize, trunk_channels(blocks), num_classes, dropout,
                             freeze, latents, layers, heads, hidden)
