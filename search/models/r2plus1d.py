"""R(2+1)D-18 (Tran et al., 2018, "A Closer Look at Spatiotemporal Convolutions"): torchvision's
``r2plus1d_18``, whose 3D convolutions are factorised into a 2D spatial and a 1D temporal one.

Used for the HMDB51 setup, whose ablation keeps only the first 4, 6, 7 or 8 of its 8 residual blocks
(the ``blocks`` knob). Optional Kinetics-400 weights come from a local file, never from the network.
This module also holds the pretrained-weights helpers that ``resnet18`` shares.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Collection, Mapping

import torch
from torch import nn
from torchvision.models.video.resnet import BasicBlock, Conv2Plus1D, R2Plus1dStem

from search.models.checks import check_bool, check_common, check_int
from search.models.frozen import FrozenTrunk

KINETICS_FILE = ("the Kinetics-400 weights of torchvision's r2plus1d_18 "
                 "(r2plus1d_18-91a641e6.pth, from the torchvision model zoo)")
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)  # torchvision's VideoClassification preset
KINETICS_STD = (0.22803, 0.22145, 0.216989)
MAX_BLOCKS = 8  # layer1..layer4, two BasicBlocks each


# --- pretrained weights: shared with resnet18 ----------------------------------------------------

def check_pretrained(model: str, pretrained: object) -> None:
    if not isinstance(pretrained, str):
        raise ValueError(f"The 'pretrained' parameter of {model} must be a str (a path to a local "
                         f"weights file, or '' for none). Got {pretrained!r} instead.")


def read_state_dict(model: str, path: str, expected: str) -> Mapping[str, torch.Tensor]:
    """The state dict in the local file ``path``; ``expected`` says what the file should be."""
    if not Path(path).expanduser().is_file():
        raise ValueError(f"The 'pretrained' parameter of {model}: no file {path!r}; put {expected} "
                         f"at {path}, or leave pretrained empty.")
    try:
        state = torch.load(Path(path).expanduser(), map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise ValueError(f"The 'pretrained' parameter of {model}: {path!r} is not a readable state "
                         f"dict ({type(exc).__name__}: {reason}); expected {expected}.") from None
    if not (isinstance(state, Mapping) and all(isinstance(v, torch.Tensor) for v in state.values())):
        raise ValueError(f"The 'pretrained' parameter of {model}: {path!r} holds a "
                         f"{type(state).__name__}, not a state dict of tensors; expected {expected}.")
    return state


def load_kept(model: str, module: nn.Module, state: Mapping[str, torch.Tensor], path: str,
              expected: str, skip: Collection[str] = ()) -> None:
    """Copy ``state`` into ``module``, strict about every tensor of ``module`` except those in
    ``skip`` (replaced layers); keys of ``state`` that ``module`` lacks (dropped layers) are ignored.
    A missing ``num_batches_tracked`` counter is tolerated (older files lack it)."""
    wanted = {}
    for key, tensor in module.state_dict().items():
        if key in skip:
            continue
        if key not in state:
            if key.endswith("num_batches_tracked"):
                continue
            raise ValueError(f"The 'pretrained' parameter of {model}: {path!r} has no tensor {key!r}, "
                             f"so it is not {expected}.")
        if state[key].shape != tensor.shape:
            raise ValueError(f"The 'pretrained' parameter of {model}: in {path!r}, {key!r} has shape "
                             f"{tuple(state[key].shape)} but the model needs {tuple(tensor.shape)}, so "
                             f"it is not {expected}.")
        wanted[key] = state[key]
    module.load_state_dict(wanted, strict=False)


class Normalize(nn.Module):
    """Per-channel ``(x - mean) / std`` for inputs in [0, 1], as the pretrained weights expect.
    ``dims`` is the input's rank: 5 for clips (N, C, T, H, W), 4 for images (N, C, H, W)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], dims: int):
        super().__init__()
        shape = (1, len(mean)) + (1,) * (dims - 2)
        self.register_buffer("mean", torch.tensor(mean).view(shape), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(shape), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# --- the R(2+1)D trunk ---------------------------------------------------------------------------

def trunk_channels(blocks: int) -> int:
    """The channels of the ``blocks``-th residual block: 64, 64, 128, 128, 256, 256, 512, 512."""
    return 64 * 2 ** ((blocks - 1) // 2)


def build_trunk(blocks: int, in_channels: int = 3) -> nn.Sequential:
    """The stem and first ``blocks`` residual blocks of torchvision's r2plus1d_18, with its module
    names (``stem``, ``layer1.0``, ...) and its initialisation; only the kept blocks are built, so
    small ablations are cheap. ``in_channels != 3`` swaps the stem's first conv for a new one."""
    stem = R2Plus1dStem()
    if in_channels != 3:
        stem[0] = nn.Conv3d(in_channels, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2),
                            padding=(0, 3, 3), bias=False)
    layers: OrderedDict[str, nn.Module] = OrderedDict(stem=stem)
    inplanes = 64
    for index in range(blocks):
        layer, position = divmod(index, 2)
        planes = 64 * 2 ** layer
        stride = 2 if layer > 0 and position == 0 else 1  # layer2..4 halve T, H and W
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(nn.Conv3d(inplanes, planes, 1, stride=stride, bias=False),
                                       nn.BatchNorm3d(planes))
        block = BasicBlock(inplanes, planes, Conv2Plus1D, stride, downsample)
        layers.setdefault(f"layer{layer + 1}", nn.Sequential()).append(block)
        inplanes = planes
    trunk = nn.Sequential(layers)
    for module in trunk.modules():  # as torchvision's VideoResNet
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm3d):
            nn.init.constant_(module.weight, 1)
            nn.init.constant_(module.bias, 0)
    return trunk


def pretrained_trunk(model: str, blocks: int, in_channels: int, pretrained: str,
                     freeze: bool) -> tuple[nn.Sequential, nn.Module]:
    """The trunk with ``pretrained`` weights loaded (when given) and frozen (when asked), and the
    input normalisation to put before it (the Kinetics mean/std when weights were loaded)."""
    state = read_state_dict(model, pretrained, KINETICS_FILE) if pretrained else None
    trunk = build_trunk(blocks, in_channels)
    normalize: nn.Module = nn.Identity()
    if state is not None:
        load_kept(model, trunk, state, pretrained, KINETICS_FILE,
                  skip=() if in_channels == 3 else ("stem.0.weight",))
        if in_channels == 3:
            normalize = Normalize(KINETICS_MEAN, KINETICS_STD, dims=5)
    if freeze:
        trunk.requires_grad_(False)
    return trunk, normalize


def check_trunk_arguments(model: str, num_classes: int, in_channels: int, dropout: float,
                          blocks: int, pretrained: str, freeze: bool) -> None:
    check_common(model, num_classes, in_channels, dropout)
    check_int(model, "blocks", blocks, 1, MAX_BLOCKS)
    check_pretrained(model, pretrained)
    check_bool(model, "freeze", freeze)


class R2Plus1D(FrozenTrunk):
    """Trunk, global average pool, dropout, linear. Input (N, C, T, H, W); output (N, num_classes).

    A frozen trunk stays in eval mode, so its batch-norm statistics stay those of the weights.
    """

    trunk_name = "trunk"

    def __init__(self, trunk: nn.Sequential, normalize: nn.Module, channels: int,
                 num_classes: int, dropout: float, frozen: bool):
        super().__init__()
        self.normalize = normalize
        self.trunk = trunk
        self.frozen = frozen
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        features = self.pool(self.trunk(self.normalize(clips))).flatten(1)
        return self.fc(self.dropout(features))

    def parameter_groups(self) -> dict[str, int]:
        """Trainable parameters of the CNN trunk and of the classifier."""
        return {"cnn": trainable(self.trunk), "head": trainable(self.fc)}


def r2plus1d(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, blocks: int = 8,
             pretrained: str = "", freeze: bool = False) -> nn.Module:
    """R(2+1)D-18 cut after ``blocks`` residual blocks (1..8), with a new classifier.

    ``pretrained``: a local path to torchvision's Kinetics-400 ``r2plus1d_18-91a641e6.pth`` (the
    kept blocks load it; inputs in [0, 1] are then normalised with the Kinetics mean/std), or "".
    ``freeze``: train only the classifier. Any clip size works (layer2..4 halve T, H, W, down to 1).
    """
    check_trunk_arguments("r2plus1d", num_classes, in_channels, dropout, blocks, pretrained, freeze)
    trunk, normalize = pretrained_trunk("r2plus1d", blocks, in_channels, pretrained, freeze)
    return R2Plus1D(trunk, normalize, trunk_channels(blocks), num_classes, dropout, freeze)
