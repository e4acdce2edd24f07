"""Which training examples an epoch draws: all of them once, or resampled towards balanced classes.

Over- and undersampling are the troubleshooting tables' data-level answer to class imbalance (the loss
weights are the other): each example is drawn with probability inversely proportional to its class's
size, so every class is about equally present in each batch.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import torch
from torch.utils.data import RandomSampler, Sampler, WeightedRandomSampler


def _balanced_weights(y: np.ndarray) -> torch.Tensor:
    counts = np.bincount(y)
    return torch.as_tensor(1.0 / counts[y], dtype=torch.double)


SAMPLINGS: Mapping[str, Callable[[np.ndarray, torch.Generator], Sampler]] = {
    # every example once per epoch, in a new order
    "none": lambda y, g: RandomSampler(range(len(y)), generator=g),
    # an epoch as long as the split, classes drawn evenly (minority examples repeat)
    "oversample": lambda y, g: WeightedRandomSampler(_balanced_weights(y), len(y), replacement=True,
                                                     generator=g),
    # an epoch of k x (smallest class) examples, classes drawn evenly, none twice
    "undersample": lambda y, g: WeightedRandomSampler(
        _balanced_weights(y), int(np.bincount(y)[np.bincount(y) > 0].min()) * int(
            (np.bincount(y) > 0).sum()), replacement=False, generator=g),
}


def train_sampler(y: np.ndarray, method: str, seed: int) -> Sampler:
    """The order (and, resampled, the multiset) of training examples, seeded for repeatability."""
    return SAMPLINGS[method](y, torch.Generator().manual_seed(seed))
