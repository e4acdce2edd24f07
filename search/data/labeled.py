"""``LabeledArrays``: a whole dataset in memory as numpy arrays, the one thing every loader returns.

Datasets here are small (a few thousand clips or images), so they are read once into uint8 arrays and
split by index; the training loop turns the splits into tensors. Keeping this numpy-only lets the data
package be used (and tested) without PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Values of ``LabeledArrays.split``.
TRAIN, VAL, TEST, UNUSED = 0, 1, 2, -1


@dataclass(frozen=True)
class LabeledArrays:
    """Examples ``x`` with class ids ``y``; ``classes[i]`` is the name of class id ``i``."""

    x: np.ndarray  # uint8; video (N, C, T, H, W), image (N, C, H, W)
    y: np.ndarray  # int64 (N,), class ids 0..k-1
    classes: tuple[str, ...]  # class names, index = class id
    # The split a dataset ships with, per example (None: it ships none, split it stratified):
    # TRAIN, VAL, TEST, or UNUSED (e.g. HMDB51's split-file lines marked 0).
    split: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} examples but y has {len(self.y)} labels")
        if self.split is not None and len(self.split) != len(self.y):
            raise ValueError(f"split has {len(self.split)} entries but y has {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.y)

    def class_counts(self) -> np.ndarray:
        """How many examples each class has, indexed by class id (zeros included)."""
        return np.bincount(self.y, minlength=len(self.classes))

    def subset(self, indices: np.ndarray) -> LabeledArrays:
        """The examples at ``indices`` (in that order), with the same class names."""
        indices = np.asarray(indices, dtype=np.int64)
        split = self.split[indices] if self.split is not None else None
        return LabeledArrays(self.x[indices], self.y[indices], self.classes, split)
