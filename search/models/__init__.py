"""The model registry: architecture name -> builder function, in the style of timm's registry.

Every builder follows one contract, which the study-file validator and the training loop rely on::

    def NAME(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, <knobs>...) -> nn.Module

Knobs are keyword-only, annotated ``int``, ``float`` or ``bool``, and have defaults; they become the
``models.NAME`` section of a study file. Input is float32 in about [0, 1]; output is logits
(N, num_classes). A builder validates its own arguments and raises ``ValueError`` naming the
parameter and the bad value. To add a model: write one builder, add one line to ``MODELS``.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from torch import nn

from search.models.c3d import c3d
from search.models.cnn2d import cnn2d
from search.models.convlstm import convlstm


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[..., nn.Module]  # a builder obeying the contract above
    input: str  # "video": batches shaped (N, C, T, H, W); "image": (N, C, H, W)


MODELS: Mapping[str, ModelEntry] = types.MappingProxyType({
    "convlstm": ModelEntry(convlstm, "video"),
    "c3d": ModelEntry(c3d, "video"),
    "cnn2d": ModelEntry(cnn2d, "image"),
})

# Arguments every builder takes; the rest of its signature are its knobs.
COMMON_ARGUMENTS = ("num_classes", "in_channels", "dropout")


def _entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; choose from: {', '.join(MODELS)}.")
    return MODELS[name]


def knobs(name: str) -> dict[str, tuple[type, Any]]:
    """The architecture-specific keyword arguments of model ``name``: {knob: (type, default)}.

    Read from the builder's signature and annotations, leaving out num_classes, in_channels and
    dropout. The study-file validator uses it to reject unknown knobs and values of the wrong type.
    """
    build = _entry(name).build
    hints = typing.get_type_hints(build)
    return {param.name: (hints[param.name], param.default)
            for param in inspect.signature(build).parameters.values()
            if param.name not in COMMON_ARGUMENTS}


def build_model(name: str, *, num_classes: int, in_channels: int, dropout: float,
                **knob_values: Any) -> nn.Module:
    """Build model ``name``; knobs left out take the builder's defaults."""
    entry = _entry(name)
    unknown = sorted(set(knob_values) - set(knobs(name)))
    if unknown:
        raise ValueError(f"Unknown knob(s) {', '.join(map(repr, unknown))} for model {name!r}; "
                         f"choose from: {', '.join(knobs(name))}.")
    return entry.build(num_classes, in_channels=in_channels, dropout=dropout, **knob_values)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
