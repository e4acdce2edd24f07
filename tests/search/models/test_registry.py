"""The model registry: every builder's contract, knobs(), build_model() and count_parameters()."""

from __future__ import annotations

import inspect
import typing

import pytest
import torch
from torch import nn

from search.models import MODELS, build_model, count_parameters, knobs, parameter_counts

# The input each kind of model takes in these tests: video (N, C, T, H, W), image (N, C, H, W).
TINY_INPUT = {"video": (2, 3, 4, 16, 16), "image": (2, 1, 8, 8)}

EXPECTED_KNOBS = {
    "convlstm": {"hidden_channels": (int, 16), "num_layers": (int, 1), "kernel_size": (int, 3),
                 "stem": (bool, True)},
    "c3d": {"width": (int, 16), "depth": (int, 3)},
    "cnn2d": {"width": (int, 32), "depth": (int, 2), "batch_norm": (bool, True),
              "block_dropout": (float, 0.0)},
    "r2plus1d": {"blocks": (int, 8), "pretrained": (str, ""), "freeze": (bool, False)},
    "r2plus1d_attention": {"blocks": (int, 8), "latents": (int, 8), "layers": (int, 2),
                           "heads": (int, 4), "hidden": (int, 256), "pretrained": (str, ""),
                           "freeze": (bool, False)},
    "resnet18": {"pretrained": (str, ""), "freeze": (bool, False)},
}


def test_every_model_has_expected_knobs_and_a_known_input_kind() -> None:
    assert set(MODELS) == set(EXPECTED_KNOBS)
    for name, entry in MODELS.items():
        assert knobs(name) == EXPECTED_KNOBS[name]
        assert entry.input in TINY_INPUT


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        MODELS["other"] = MODELS["c3d"]  # type: ignore[index]


@pytest.mark.parametrize("name", list(MODELS))
def test_builder_obeys_the_signature_contract(name: str) -> None:
    build = MODELS[name].build
    params = list(inspect.signature(build).parameters.values())
    hints = typing.get_type_hints(build)

    assert params[0].name == "num_classes" and hints["num_classes"] is int
    assert params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD)
    assert params[0].default is inspect.Parameter.empty
    assert hints["return"] is nn.Module
    by_name = {p.name: p for p in params[1:]}
    assert (hints["in_channels"], by_name["in_channels"].default) == (int, 3)
    assert (hints["dropout"], by_name["dropout"].default) == (float, 0.0)
    for param in params[1:]:
        assert param.kind is param.KEYWORD_ONLY, param.name
        assert hints[param.name] in (int, float, bool, str), param.name
        assert param.default is not inspect.Parameter.empty, param.name
        assert type(param.default) is hints[param.name], param.name
    assert isinstance(build(2), nn.Module)  # the defaults build a model


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_and_backward_on_a_tiny_batch(name: str) -> None:
    torch.manual_seed(0)
    shape = TINY_INPUT[MODELS[name].input]
    model = build_model(name, num_classes=5, in_channels=shape[1], dropout=0.2)
    logits = model(torch.rand(shape))

    assert logits.shape == (shape[0], 5)
    assert torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert torch.isfinite(param.grad).all(), param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", list(MODELS))
def test_dropout_reaches_the_model(name: str) -> None:
    model = build_model(name, num_classes=2, in_channels=3, dropout=0.3)
    rates = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert rates and set(rates) == {0.3}  # attention models have one in every block
    # the classifier's input passes through dropout last: (dropout, linear) are the last modules
    leaves = [m for m in model.modules() if not list(m.children())]
    assert isinstance(leaves[-1], nn.Linear) and isinstance(leaves[-2], nn.Dropout)


def test_build_model_passes_knobs_to_the_builder() -> None:
    small = build_model("c3d", num_classes=5, in_channels=3, dropout=0.0, width=4, depth=1)
    # conv 3*4*27 = 324, batch norm 2*4 = 8, linear 4*5 + 5 = 25
    assert count_parameters(small) == 324 + 8 + 25


def test_build_model_with_an_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(ValueError, match="'resnet'.*convlstm, c3d, cnn2d, r2plus1d, "
                                         "r2plus1d_attention, resnet18 .*package.module:function"):
        build_model("resnet", num_classes=2, in_channels=3, dropout=0.0)
    with pytest.raises(ValueError, match="'resnet'"):
        knobs("resnet")


def test_build_model_with_an_unknown_knob_lists_the_known_knobs() -> None:
    with pytest.raises(ValueError, match="'widht'.*width, depth"):
        build_model("c3d", num_classes=2, in_channels=3, dropout=0.0, widht=4)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("argument, value", [
    ("num_classes", 0), ("in_channels", 0), ("in_channels", 2.0),
    ("dropout", 1.0), ("dropout", -0.1), ("dropout", True), ("dropout", float("nan")),
])
def test_invalid_common_arguments_are_rejected(name: str, argument: str, value: object) -> None:
    args = {"num_classes": 2, "in_channels": 3, "dropout": 0.0, argument: value}
    with pytest.raises(ValueError, match=rf"'{argument}' parameter of {name} .* Got {value!r}"):
        build_model(name, **args)  # type: ignore[arg-type]


def test_count_parameters_counts_only_trainable_parameters() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # (3*4 + 4) + (4*2 + 2) = 26
    assert count_parameters(model) == 26
    model[0].requires_grad_(False)
    assert count_parameters(model) == 10


def test_parameter_counts_uses_parameter_groups_when_the_model_has_them() -> None:
    plain = build_model("c3d", num_classes=5, in_channels=3, dropout=0.0, width=4, depth=1)
    assert parameter_counts(plain) == {"total": 357}
    grouped = build_model("r2plus1d", num_classes=5, in_channels=3, dropout=0.0, blocks=1)
    counts = parameter_counts(grouped)
    assert set(counts) == {"cnn", "head"} and counts["head"] == 64 * 5 + 5
    assert sum(counts.values()) == count_parameters(grouped)
