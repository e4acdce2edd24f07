"""ResNet-18 for images: small inputs, parameter count, local ImageNet weights, freezing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from search.models import count_parameters, parameter_counts
from search.models.r2plus1d import Normalize
from search.models.resnet18 import resnet18


@pytest.fixture(scope="module")
def imagenet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in for resnet18-f37072fd.pth: a random torchvision resnet18's state dict, with
    random batch-norm statistics."""
    torch.manual_seed(3)
    model = torchvision.models.resnet18(weights=None)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "resnet18-f37072fd.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (2, 1, 8, 8), (2, 3, 1, 1), (2, 3, 45, 61)])
def test_forward_and_backward_on_small_images(shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    model = resnet18(4, in_channels=shape[1], dropout=0.2)
    logits = model(torch.rand(shape))
    assert logits.shape == (2, 4) and torch.isfinite(logits).all()
    logits.logsumexp(dim=1).sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_parameter_count_is_torchvisions_with_a_new_head() -> None:
    full = count_parameters(torchvision.models.resnet18(weights=None))
    model = resnet18(6)
    assert count_parameters(model) == full - (512 * 1000 + 1000) + (512 * 6 + 6)
    assert parameter_counts(model) == {"cnn": full - 513_000, "head": 512 * 6 + 6}
    conv1 = 64 * 3 * 7 * 7
    assert count_parameters(resnet18(6, in_channels=1)) == count_parameters(model) - conv1 // 3 * 2


def test_pretrained_weights_load_and_compute_what_torchvision_computes(imagenet_file: Path) -> None:
    file = torch.load(imagenet_file, weights_only=True)
    model = resnet18(5, pretrained=str(imagenet_file))
    for key, tensor in model.backbone.state_dict().items():
        assert torch.equal(tensor, file[key]), key
    assert model.fc.weight.shape == (5, 512) and isinstance(model.normalize, Normalize)

    reference = torchvision.models.resnet18(weights=None)
    reference.load_state_dict(file)
    reference.fc = nn.Identity()
    images = torch.rand(2, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        ours = model.eval().backbone(model.normalize(images))
        theirs = reference.eval()((images - mean) / std)
    torch.testing.assert_close(ours, theirs)


def test_other_input_channels_replace_conv1_and_skip_its_weights(imagenet_file: Path) -> None:
    file = torch.load(imagenet_file, weights_only=True)
    model = resnet18(5, in_channels=1, pretrained=str(imagenet_file))
    assert model.backbone.conv1.weight.shape == (64, 1, 7, 7)
    assert torch.equal(model.backbone.bn1.running_mean, file["bn1.running_mean"])
    assert isinstance(model.normalize, nn.Identity)


def test_freeze_trains_only_the_head(imagenet_file: Path) -> None:
    model = resnet18(3, pretrained=str(imagenet_file), freeze=True).train()
    assert not model.backbone.training
    model(torch.rand(2, 3, 16, 16)).sum().backward()
    for name, param in model.backbone.named_parameters():
        assert param.grad is None and not param.requires_grad, name
    assert model.fc.weight.grad is not None
    assert count_parameters(model) == 512 * 3 + 3


def test_a_missing_file_says_where_to_put_which_weights(tmp_path: Path) -> None:
    path = str(tmp_path / "nowhere.pth")
    with pytest.raises(ValueError) as info:
        resnet18(5, pretrained=path)
    assert (f"put the ImageNet weights of torchvision's resnet18 (resnet18-f37072fd.pth, from the "
            f"torchvision model zoo) at {path}, or leave pretrained empty") in str(info.value)


def test_a_file_of_other_weights_names_the_file_and_the_first_missing_key(tmp_path: Path) -> None:
    path = tmp_path / "video.pth"
    torch.save({"stem.0.weight": torch.zeros(45, 3, 1, 7, 7)}, path)
    with pytest.raises(ValueError, match=rf"{path}.*has no tensor 'conv1.weight'.*resnet18-f37072fd"):
        resnet18(5, pretrained=str(path))


@pytest.mark.parametrize("knob, value", [("pretrained", None), ("pretrained", 1), ("freeze", 0)])
def test_invalid_knobs_are_rejected(knob: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"'{knob}' parameter of resnet18 .* Got {value!r}"):
        resnet18(2, **{knob: value})  # type: ignore[arg-type]
