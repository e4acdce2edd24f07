"""R(2+1)D + attention: shapes, token positions, parameter groups, weights, freezing, arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from search.models import count_parameters, parameter_counts
from search.models.attention import POSITION_FEATURES, fourier_positions, r2plus1d_attention
from search.models.r2plus1d import r2plus1d

SMALL = {"blocks": 2, "latents": 4, "layers": 1, "heads": 2, "hidden": 16}


def test_forward_and_backward_on_tiny_clips() -> None:
    torch.manual_seed(0)
    model = r2plus1d_attention(5, dropout=0.1, **SMALL)
    logits = model(torch.rand(2, 3, 4, 32, 32))
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("shape", [(1, 3, 1, 8, 8), (2, 3, 8, 16, 24), (1, 3, 3, 48, 40)])
def test_any_clip_size_gives_logits(shape: tuple[int, ...]) -> None:
    model = r2plus1d_attention(3, **SMALL).eval()
    with torch.no_grad():
        assert model(torch.rand(shape)).shape == (shape[0], 3)


@pytest.mark.parametrize("blocks", [1, 5, 8])
def test_the_token_projection_follows_the_kept_blocks_channels(blocks: int) -> None:
    model = r2plus1d_attention(3, blocks=blocks, latents=2, layers=0, heads=1, hidden=8)
    channels = {1: 64, 5: 256, 8: 512}[blocks]
    assert model.project.in_features == channels + POSITION_FEATURES


def test_token_positions_tell_every_grid_cell_apart() -> None:
    positions = fourier_positions(2, 3, 4, torch.zeros(()))
    assert positions.shape == (2 * 3 * 4, POSITION_FEATURES)
    assert torch.cdist(positions, positions).add(torch.eye(24)).min() > 0.1  # all rows distinct
    assert (positions.abs() <= 1).all()
    single = fourier_positions(1, 1, 1, torch.zeros(()))
    assert single.shape == (1, POSITION_FEATURES) and torch.isfinite(single).all()


def test_parameter_groups_count_cnn_attention_and_head_apart() -> None:
    h, latents, classes = 16, 4, 5
    model = r2plus1d_attention(classes, **SMALL)
    mha = 4 * h * h + 4 * h  # q, k, v and output projections with biases
    mlp = (h * 4 * h + 4 * h) + (4 * h * h + h)
    cross = mha + mlp + 2 * 2 * h  # two LayerNorms
    encoder_layer = mha + mlp + 2 * 2 * h
    tokens = (64 + POSITION_FEATURES) * h + h + 2 * h  # projection + LayerNorm
    attention = tokens + latents * h + cross + 1 * encoder_layer
    cnn = count_parameters(r2plus1d(classes, blocks=2)) - (64 * classes + classes)
    groups = parameter_counts(model)
    assert groups == {"cnn": cnn, "attention": attention, "head": h * classes + classes}
    assert sum(groups.values()) == count_parameters(model)


@pytest.fixture(scope="module")
def kinetics_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for torchvision's r2plus1d_18-91a641e6.pth, with random weights."""
    torch.manual_seed(2)
    path = tmp_path_factory.mktemp("weights") / "r2plus1d_18-91a641e6.pth"
    torch.save(torchvision.models.video.r2plus1d_18(weights=None).state_dict(), path)
    return path


def test_pretrained_frozen_trunk_loads_and_only_attention_and_head_train(kinetics_file: Path) -> None:
    file = torch.load(kinetics_file, weights_only=True)
    model = r2plus1d_attention(3, pretrained=str(kinetics_file), freeze=True, **SMALL).train()
    for key, tensor in model.trunk.state_dict().items():
        assert torch.equal(tensor, file[key]), key
    assert not model.trunk.training and model.cross.training
    model(torch.rand(2, 3, 2, 16, 16)).sum().backward()
    for name, param in model.named_parameters():
        frozen = name.startswith("trunk.")
        assert (param.grad is None) == frozen and param.requires_grad != frozen, name
    groups = parameter_counts(model)
    assert groups["cnn"] == 0 and groups["attention"] > 0 and groups["head"] == 16 * 3 + 3


def test_a_missing_weights_file_is_reported_for_this_model(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"r2plus1d_attention.*nowhere.pth.*r2plus1d_18-91a641e6"):
        r2plus1d_attention(2, pretrained=str(tmp_path / "nowhere.pth"))


def test_dropout_reaches_every_attention_block() -> None:
    model = r2plus1d_attention(2, dropout=0.25, **SMALL)
    assert model.cross.attend.dropout == 0.25
    assert {m.p for m in model.modules() if isinstance(m, nn.Dropout)} == {0.25}


@pytest.mark.parametrize("knob, value", [
    ("blocks", 0), ("blocks", 9), ("latents", 0), ("latents", 2.0), ("layers", -1),
    ("heads", 0), ("hidden", 0), ("hidden", 10), ("pretrained", 0), ("freeze", None),
])
def test_invalid_knobs_are_rejected(knob: str, value: object) -> None:
    arguments = {**SMALL, "heads": 4, knob: value}  # hidden 10 is not a multiple of 4 heads
    with pytest.raises(ValueError, match=rf"'{knob}' parameter of r2plus1d_attention .* Got {value!r}"):
        r2plus1d_attention(2, **arguments)  # type: ignore[arg-type]


def test_hidden_must_split_evenly_into_heads() -> None:
    with pytest.raises(ValueError) as info:
        r2plus1d_attention(2, hidden=30, heads=4)
    assert str(info.value) == ("The 'hidden' parameter of r2plus1d_attention must be a multiple of "
                               "'heads' (4). Got 30 instead.")
