"""Do the labels go with the examples? A permutation test of the training split, without a model.

Shuffled labels (a loader that pairs examples with another example's label) pass every check of one
batch: a network memorises one batch of random labels as readily as of true ones (Zhang et al., 2017,
"Understanding deep learning requires rethinking generalization"). What random labels lack is an
association with the inputs: an example's nearest neighbour does not share its label more often than
chance. So: each training example's nearest other example (leave-one-out 1-NN, Euclidean, on inputs
average-pooled to a few pixels per frame and standardised per feature), the share whose neighbour
has the same label, against the same share under random permutations of the labels (which keep the
class counts, so imbalance is accounted for). The labels carry no signal when the true share is not
above the permutations' (one-sided p-value above ALPHA).

A 1-NN on pixels is a weak learner: where classes differ in ways pixels do not show (the same signer
signing different words), it may find nothing; the failure line says so, and ``--skip-checks`` goes
on anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from search.data.labeled import LabeledArrays

# At most this many training examples (drawn at random): the distance matrix is n x n.
MAX_EXAMPLES = 2000
# Inputs are average-pooled to at most POOL x POOL pixels per frame and at most POOL frames.
POOL = 8
# Random permutations of the labels; the p-value's resolution is 1 / (PERMUTATIONS + 1).
PERMUTATIONS = 200
# Fisher's conventional significance level.
ALPHA = 0.05
# Fewer training examples than this are not tested: with 3 classes of 2, even a perfect agreement
# is not significant at ALPHA (p = 0.07 measured on tests/published_layouts.py's HMDB51).
MIN_EXAMPLES = 20


@dataclass(frozen=True)
class Signal:
    agreement: float  # share of examples whose nearest neighbour has their label
    chance: float  # the permutations' mean share
    p_value: float  # one-sided: permutations at least as high as the true labels
    examples: int

    @property
    def found(self) -> bool:
        return self.p_value <= ALPHA


def features(x: np.ndarray) -> torch.Tensor:
    """(n, features): pooled to a few pixels (and frames) per example, standardised per feature;
    for video, the frames' absolute differences too (motion: what tells a left swipe from a right
    one, as the difference images of temporal-difference networks do, Wang et al. 2021)."""
    t = torch.from_numpy(x).float()
    if t.ndim == 5:  # video (N, C, T, H, W)
        if t.shape[2] > 1:
            t = torch.cat([t, (t[:, :, 1:] - t[:, :, :-1]).abs()], dim=2)
        t = F.adaptive_avg_pool3d(t, (min(2 * POOL, t.shape[2]), min(POOL, t.shape[3]),
                                      min(POOL, t.shape[4])))
    elif t.ndim == 4:  # image (N, C, H, W)
        t = F.adaptive_avg_pool2d(t, (min(POOL, t.shape[2]), min(POOL, t.shape[3])))
    t = torch.nan_to_num(t.flatten(1), nan=0.0, posinf=0.0, neginf=0.0)
    return (t - t.mean(0)) / t.std(0).clamp_min(1e-6)


def nearest_neighbours(x: np.ndarray) -> np.ndarray:
    """Each example's nearest other example (leave-one-out)."""
    f = features(x)
    distances = torch.cdist(f, f)
    distances.fill_diagonal_(float("inf"))
    return distances.argmin(1).numpy()


def label_signal(train: LabeledArrays, seed: int) -> Signal:
    rng = np.random.default_rng(seed)
    index = np.arange(len(train))
    if len(index) > MAX_EXAMPLES:
        index = np.sort(rng.choice(index, MAX_EXAMPLES, replace=False))
    y = train.y[index]
    neighbour = nearest_neighbours(train.x[index])
    agreement = float(np.mean(y[neighbour] == y))
    shuffled = np.array([np.mean(p[neighbour] == p) for p in
                         (rng.permutation(y) for _ in range(PERMUTATIONS))])
    p_value = (1 + int(np.sum(shuffled >= agreement))) / (PERMUTATIONS + 1)
    return Signal(agreement, float(shuffled.mean()), p_value, len(index))
