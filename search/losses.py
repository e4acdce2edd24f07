"""Training losses, by name: plain, class-weighted, focal and label-smoothed cross entropy.

The three imbalance-aware choices follow the troubleshooting tables: weighted cross entropy with
inverse-frequency weights (scikit-learn's "balanced" class weights) or effective-number weights
(Cui et al., CVPR 2019), and focal loss (Lin et al., ICCV 2017), which down-weights easy examples.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

if TYPE_CHECKING:
    from search.space import Hyperparams

# Cui et al. (2019) search beta in {0.9, 0.99, 0.999, 0.9999}; 0.999 is their usual choice for
# datasets of a few thousand examples per class, the size of the seeds' datasets.
EFFECTIVE_NUMBER_BETA = 0.999


def _inverse_frequency(counts: np.ndarray) -> np.ndarray:
    """n_samples / (n_classes * n_c), as scikit-learn's class_weight="balanced" computes it."""
    y = np.repeat(np.arange(len(counts)), counts)
    return compute_class_weight("balanced", classes=np.arange(len(counts)), y=y)


def _effective_number(counts: np.ndarray, beta: float = EFFECTIVE_NUMBER_BETA) -> np.ndarray:
    """(1 - beta) / (1 - beta^n_c), normalised to sum to the number of classes (Cui et al. 2019)."""
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts.astype(np.float64)))
    return weights * len(counts) / weights.sum()


CLASS_WEIGHTINGS: Mapping[str, Callable[[np.ndarray], np.ndarray]] = types.MappingProxyType({
    "inverse_frequency": _inverse_frequency,
    "effective_number": _effective_number,
})


def class_weights(counts: np.ndarray, method: str) -> torch.Tensor:
    """Per-class loss weights from the training split's class counts (every count must be > 0)."""
    return torch.as_tensor(CLASS_WEIGHTINGS[method](np.asarray(counts)), dtype=torch.float32)


class FocalLoss(nn.Module):
    """Multi-class focal loss, FL(p_t) = -(1 - p_t)^gamma * log(p_t), averaged over the batch.

    gamma = 0 is cross entropy; larger gamma spends less of the gradient on examples the model
    already gets right (usually those of the majority classes)."""

    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_pt = F.log_softmax(logits.float(), dim=1).gather(1, target[:, None]).squeeze(1)
        return (-(1.0 - log_pt.exp()) ** self.gamma * log_pt).mean()


LossBuilder = Callable[["Hyperparams", np.ndarray], nn.Module]

LOSSES: Mapping[str, LossBuilder] = types.MappingProxyType({
    "cross_entropy": lambda hp, counts: nn.CrossEntropyLoss(),
    "weighted_cross_entropy": lambda hp, counts: nn.CrossEntropyLoss(
        weight=class_weights(counts, hp.class_weighting)),
    "focal": lambda hp, counts: FocalLoss(hp.focal_gamma),
    "label_smoothing": lambda hp, counts: nn.CrossEntropyLoss(label_smoothing=hp.label_smoothing),
})


def build_loss(hp: Hyperparams, train_counts: np.ndarray) -> nn.Module:
    """The trial's loss; ``train_counts`` (examples per class in the training split) sets weights."""
    return LOSSES[hp.loss](hp, train_counts)
