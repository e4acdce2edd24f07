"""ResNet-18 (He et al., 2016) for images: torchvision's ``resnet18`` as a backbone for the
vehicle-photo setup, optionally with ImageNet weights from a local file (never downloaded).
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import resnet18 as torchvision_resnet18

from search.models.checks import check_bool, check_common
from search.models.frozen import FrozenTrunk
from search.models.r2plus1d import (Normalize, check_pretrained, load_kept, read_state_dict,
                                    trainable)

IMAGENET_FILE = ("the ImageNet weights of torchvision's resnet18 "
                 "(resnet18-f37072fd.pth, from the torchvision model zoo)")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ResNet18(FrozenTrunk):
    """Backbone (torchvision's resnet18 without its fc), dropout, a new linear classifier.

    Input (N, C, H, W); output (N, num_classes). A frozen backbone stays in eval mode.
    """

    trunk_name = "backbone"

    def __init__(self, backbone: nn.Module, normalize: nn.Module, num_classes: int, dropout: float,
                 frozen: bool):
        super().__init__()
        self.normalize = normalize
        self.backbone = backbone
        self.frozen = frozen
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.backbone(self.normalize(images))))

    def parameter_groups(self) -> dict[str, int]:
        """Trainable parameters of the CNN backbone and of the classifier."""
        return {"cnn": trainable(self.backbone), "head": trainable(self.fc)}


def resnet18(num_classes: int, *, in_channels: int = 3, dropout: float = 0.0, pretrained: str = "",
             freeze: bool = False) -> nn.Module:
    """ResNet-18 with a new classifier (dropout before it).

    ``pretrained``: a local path to torchvision's ImageNet ``resnet18-f37072fd.pth`` (inputs in
    [0, 1] are then normalised with the ImageNet mean/std), or "". ``in_channels != 3`` replaces
    conv1 (not loaded). ``freeze``: train only the classifier. Any image size works, down to 1x1
    (the map shrinks 32x, to no less than 1x1, and is average-pooled); in training, batch norm
    needs more than one value per channel, so a 1x1 final map (images <= 32x32) needs batches >= 2.
    """
    check_common("resnet18", num_classes, in_channels, dropout)
    check_pretrained("resnet18", pretrained)
    check_bool("resnet18", "freeze", freeze)
    state = read_state_dict("resnet18", pretrained, IMAGENET_FILE) if pretrained else None
    backbone = torchvision_resnet18(weights=None)
    backbone.fc = nn.Identity()
    if in_channels != 3:
        backbone.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(backbone.conv1.weight, mode="fan_out", nonlinearity="relu")
    normalize: nn.Module = nn.Identity()
    if state is not None:
        load_kept("resnet18", backbone, state, pretrained, IMAGENET_FILE,
                  skip=() if in_channels == 3 else ("conv1.weight",))
        if in_channels == 3:
            normalize = Normalize(IMAGENET_MEAN, IMAGENET_STD, dims=4)
    if freeze:
        backbone.requires_grad_(False)
    return ResNet18(backbone, normalize, num_classes, dropout, freeze)
