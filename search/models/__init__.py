"""The model registry: architecture name -> builder function, in the style of timm's registry.

Every builder follows one contract, which the study-file validator and the training loop rely on::

    def NAME(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, <knobs>...) -> nn.Module

Knobs are keyword-only, annotated ``int``, ``float``, ``bool`` or ``str``, and have defaults; they become
the ``models.NAME`` section of a study file. Input is float32 in about [0, 1]; output is logits
(N, num_classes). A builder validates its own arguments and raises ``ValueError`` naming the
parameter and the bad value. To add a model: write one builder, add one line to ``MODELS``.

Bring your own model: wherever a name is expected, "package.module:function" names a factory
``function(num_classes, **hparams) -> nn.Module`` imported from that module (see ``factory``); its
knobs come from its signature and its input kind is unknown (``ModelEntry.input`` is None).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from torch import nn
from torch.nn.parameter import is_lazy

from search.models.attention import r2plus1d_attention
from search.models.c3d import c3d
from search.models.cnn2d import cnn2d
from search.models.convlstm import convlstm
from search.models.factory import build_from_factory, factory_knobs, is_factory, load_factory
from search.models.r2plus1d import r2plus1d
from search.models.resnet18 import resnet18
from search.signature import knobs_of


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[..., nn.Module]  # a builder obeying the contract above
    input: str | None  # "video": batches (N, C, T, H, W); "image": (N, C, H, W); None: any


MODELS: Mapping[str, ModelEntry] = types.MappingProxyType({
    "convlstm": ModelEntry(convlstm, "video"),
    "c3d": ModelEntry(c3d, "video"),
    "cnn2d": ModelEntry(cnn2d, "image"),
    "r2plus1d": ModelEntry(r2plus1d, "video"),
    "r2plus1d_attention": ModelEntry(r2plus1d_attention, "video"),
    "resnet18": ModelEntry(resnet18, "image"),
})

# Arguments every builder takes; the rest of its signature are its knobs.
COMMON_ARGUMENTS = ("num_classes", "in_channels", "dropout")


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``, or of the factory it names; ValueError if neither."""
    if is_factory(name):
        return ModelEntry(load_factory(name), None)
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; choose from: {', '.join(MODELS)} "
                         f"(or a factory 'package.module:function').")
    return MODELS[name]


def knobs(name: str) -> dict[str, tuple[type, Any]]:
    """The architecture-specific keyword arguments of model ``name``: {knob: (type, default)}.

    Read from the builder's signature and annotations, leaving out num_classes, in_channels and
    dropout. The study-file validator uses it to reject unknown knobs and values of the wrong type.
    For a factory string, the factory's typed keyword parameters with defaults.
    """
    if is_factory(name):
        return factory_knobs(name, COMMON_ARGUMENTS)
    return knobs_of(model_entry(name).build, skip=COMMON_ARGUMENTS)


def build_model(name: str, *, num_classes: int, in_channels: int, dropout: float,
                **knob_values: Any) -> nn.Module:
    """Build model ``name``; knobs left out take the builder's defaults."""
    entry = model_entry(name)
    unknown = sorted(set(knob_values) - set(knobs(name)))
    if unknown:
        raise ValueError(f"Unknown knob(s) {', '.join(map(repr, unknown))} for model {name!r}; "
                         f"choose from: {', '.join(knobs(name)) or 'none'}.")
    if is_factory(name):
        return build_from_factory(name, num_classes, in_channels=in_channels, dropout=dropout,
                                  **knob_values)
    return entry.build(num_classes, in_channels=in_channels, dropout=dropout, **knob_values)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (those with ``requires_grad``); lazy parameters not yet
    initialised (a factory's ``nn.LazyLinear`` before the first batch) count as 0."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad and not is_lazy(p))


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Trainable parameters by part: the model's ``parameter_groups()`` (e.g. {"cnn": ...,
    "attention": ..., "head": ...}) if it has one, else {"total": count_parameters(model)}."""
    groups = getattr(model, "parameter_groups", None)
    if callable(groups):
        return dict(groups())
    return {"total": count_parameters(model)}
