"""R(2+1)D-18: kept blocks, torchvision equivalence, parameter counts, local weights, freezing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from search.models import count_parameters, parameter_counts
from search.models.r2plus1d import Normalize, build_trunk, r2plus1d

CHANNELS = [64, 64, 128, 128, 256, 256, 512, 512]  # of residual blocks 1..8
# The torchvision module each kept block count ends in, for counting from torchvision's own model.
KEPT = {1: ["stem", "layer1.0"], 4: ["stem", "layer1", "layer2"], 8: ["stem", "layer1", "layer2",
                                                                       "layer3", "layer4"]}


def kept(key: str, prefixes: list[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


@pytest.fixture(scope="module")
def kinetics_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for r2plus1d_18-91a641e6.pth: the state dict of a full, randomly initialised
    torchvision r2plus1d_18 with random batch-norm statistics."""
    torch.manual_seed(1)
    model = torchvision.models.video.r2plus1d_18(weights=None)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("weights") / "r2plus1d_18-91a641e6.pth"
    torch.save(model.state_dict(), path)
    return path


def test_forward_and_backward_on_tiny_clips() -> None:
    torch.manual_seed(0)
    model = r2plus1d(5, blocks=3, dropout=0.1)
    logits = model(torch.rand(2, 3, 4, 32, 32))
    assert logits.shape == (2, 5) and torch.isfinite(logits).all()
    logits.sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("blocks", range(1, 9))
def test_every_block_count_works_and_the_head_follows_its_channels(blocks: int) -> None:
    model = r2plus1d(3, blocks=blocks).eval()
    assert model.fc.in_features == CHANNELS[blocks - 1]
    layers = [name for name, _ in model.trunk.named_children()]
    assert layers == ["stem"] + [f"layer{i + 1}" for i in range((blocks + 1) // 2)]
    assert sum(len(layer) for layer in list(model.trunk)[1:]) == blocks
    with torch.no_grad():
        assert model(torch.rand(1, 3, 2, 8, 8)).shape == (1, 3)  # tiny clips: sizes floor at 1


@pytest.mark.parametrize("blocks", [1, 4, 8])
def test_trunk_has_torchvisions_names_shapes_and_parameter_count(blocks: int) -> None:
    full = torchvision.models.video.r2plus1d_18(weights=None)
    expected = {k: v.shape for k, v in full.state_dict().items() if kept(k, KEPT[blocks])}
    trunk = build_trunk(blocks).state_dict()
    assert {k: v.shape for k, v in trunk.items()} == expected

    model = r2plus1d(7, blocks=blocks)
    cnn = sum(p.numel() for k, p in full.named_parameters() if kept(k, KEPT[blocks]))
    head = CHANNELS[blocks - 1] * 7 + 7
    assert parameter_counts(model) == {"cnn": cnn, "head": head}
    assert count_parameters(model) == cnn + head
    if blocks == 8:  # torchvision's full model with its 400-class fc swapped for a 7-class one
        assert count_parameters(model) == count_parameters(full) - (512 * 400 + 400) + head


def test_pretrained_weights_load_into_the_kept_blocks(kinetics_file: Path) -> None:
    file = torch.load(kinetics_file, weights_only=True)
    model = r2plus1d(5, blocks=4, pretrained=str(kinetics_file))
    loaded = model.trunk.state_dict()
    assert set(loaded) == {k for k in file if kept(k, KEPT[4])}
    for key, tensor in loaded.items():
        assert torch.equal(tensor, file[key]), key
    assert model.fc.weight.shape == (5, 128)  # always new
    assert isinstance(model.normalize, Normalize)
    assert isinstance(r2plus1d(5, blocks=4).normalize, nn.Identity)


def test_pretrained_model_computes_what_torchvision_computes(kinetics_file: Path) -> None:
    """Same weights, same clip: our 8-block trunk's pooled features equal torchvision's, given the
    Kinetics normalisation torchvision's preset applies."""
    torch.manual_seed(0)
    reference = torchvision.models.video.r2plus1d_18(weights=None)
    reference.load_state_dict(torch.load(kinetics_file, weights_only=True))
    reference.fc = nn.Identity()
    model = r2plus1d(5, pretrained=str(kinetics_file))
    clips = torch.rand(1, 3, 2, 16, 16)
    mean = torch.tensor([0.43216, 0.394666, 0.37645]).view(1, 3, 1, 1, 1)
    std = torch.tensor([0.22803, 0.22145, 0.216989]).view(1, 3, 1, 1, 1)
    with torch.no_grad():
        ours = model.eval().pool(model.trunk(model.normalize(clips))).flatten(1)
        theirs = reference.eval()((clips - mean) / std)
    torch.testing.assert_close(ours, theirs)


def test_other_input_channels_replace_the_stem_and_skip_its_weights(kinetics_file: Path) -> None:
    file = torch.load(kinetics_file, weights_only=True)
    model = r2plus1d(5, in_channels=1, blocks=2, pretrained=str(kinetics_file))
    assert model.trunk.stem[0].weight.shape == (45, 1, 1, 7, 7)
    assert torch.equal(model.trunk.stem[1].weight, file["stem.1.weight"])
    assert isinstance(model.normalize, nn.Identity)  # Kinetics mean/std are per RGB channel
    assert model(torch.rand(2, 1, 2, 16, 16)).shape == (2, 5)


def test_freeze_trains_only_the_head(kinetics_file: Path) -> None:
    model = r2plus1d(4, blocks=2, pretrained=str(kinetics_file), freeze=True).train()
    assert not model.trunk.training and model.fc.training  # frozen batch norm keeps its statistics
    model(torch.rand(2, 3, 2, 16, 16)).sum().backward()
    for name, param in model.trunk.named_parameters():
        assert param.grad is None and not param.requires_grad, name
    assert model.fc.weight.grad is not None and model.fc.bias.grad is not None
    assert parameter_counts(model) == {"cnn": 0, "head": 64 * 4 + 4}
    assert count_parameters(r2plus1d(4, blocks=2, freeze=True)) == 64 * 4 + 4  # allowed, no weights


def test_a_missing_file_says_where_to_put_which_weights(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere.pth")
    with pytest.raises(ValueError) as info:
        r2plus1d(5, pretrained=path)
    message = str(info.value)
    assert f"put the Kinetics-400 weights of torchvision's r2plus1d_18 (r2plus1d_18-91a641e6.pth, " \
           f"from the torchvision model zoo) at {path}, or leave pretrained empty" in message
    assert "\n" not in message


def test_a_file_of_other_weights_names_the_file_and_the_first_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(ValueError, match=rf"{path}.*has no tensor 'stem.0.weight'"):
        r2plus1d(5, blocks=1, pretrained=str(path))


def test_a_tensor_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    state = build_trunk(1).state_dict()
    state["layer1.0.conv1.1.weight"] = torch.ones(3)
    path = tmp_path / "odd.pth"
    torch.save(state, path)
    with pytest.raises(ValueError, match=rf"{path}.*'layer1.0.conv1.1.weight' has shape \(3,\)"):
        r2plus1d(5, blocks=1, pretrained=str(path))


@pytest.mark.parametrize("content", [b"not a checkpoint", None])
def test_a_file_that_is_not_a_state_dict_is_named(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "junk.pth"
    if content is None:
        torch.save([torch.zeros(2)], path)  # loadable, but a list
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"{path}.*r2plus1d_18-91a641e6.pth") as info:
        r2plus1d(5, blocks=1, pretrained=str(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("knob, value", [
    ("blocks", 0), ("blocks", 9), ("blocks", 2.0), ("blocks", True),
    ("pretrained", None), ("pretrained", 3), ("freeze", 1), ("freeze", "yes"),
])
def test_invalid_knobs_are_rejected(knob: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"'{knob}' parameter of r2plus1d .* Got {value!r}"):
        r2plus1d(2, **{knob: value})  # type: ignore[arg-type]


def test_error_message_reads_like_scikit_learn() -> None:
    with pytest.raises(ValueError) as info:
        r2plus1d(2, blocks=9)
    assert str(info.value) == "The 'blocks' parameter of r2plus1d must be an int in [1, 8]. Got 9 instead."
