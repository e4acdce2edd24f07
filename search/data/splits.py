"""Train / validation / (optional) test splits, stratified by class and fixed by a seed.

Every trial of a study trains on the same splits, so scores compare hyperparameters, not luck of the
split. Each class is split on its own (its share of each split is its size times the fraction, rounded),
and every class gets at least one example in every split: a class missing from validation would make
its per-class scores undefined, which is exactly what plateau's diagnostics look at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.data.labeled import TEST, TRAIN, VAL, LabeledArrays
from search.record.errors import DataError


@dataclass(frozen=True)
class Splits:
    train: LabeledArrays
    val: LabeledArrays
    test: LabeledArrays | None  # None when test_fraction == 0


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for name, value, low_open, bounds in (("val_fraction", val_fraction, True, "(0, 1)"),
                                          ("test_fraction", test_fraction, False, "[0, 1)")):
        number = not isinstance(value, bool) and isinstance(value, (int, float))
        if not (number and (0 < value if low_open else 0 <= value) and value < 1):
            raise DataError(f"The '{name}' parameter of stratified_split must be a float in "
                            f"{bounds}. Got {value!r} instead.")
    if val_fraction + test_fraction >= 1:
        raise DataError(f"val_fraction + test_fraction must be < 1 so that some examples are left "
                        f"to train on. Got {val_fraction!r} + {test_fraction!r} instead.")


def _sizes(count: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """(val, test) examples for a class of ``count``; each split, train included, gets at least 1."""
    has_test = test_fraction > 0
    n_val = min(max(1, round(count * val_fraction)), count - 1 - has_test)
    n_test = min(max(1, round(count * test_fraction)), count - 1 - n_val) if has_test else 0
    return n_val, n_test


def stratified_split(data: LabeledArrays, *, val_fraction: float, test_fraction: float,
                     seed: int) -> Splits:
    """Split ``data`` class by class into train / val / test; the same seed gives the same splits."""
    _check_fractions(val_fraction, test_fraction)
    n_splits = 3 if test_fraction > 0 else 2
    asked = f"val_fraction={val_fraction:g}" + (
        f" and test_fraction={test_fraction:g}" if test_fraction > 0 else "")
    for name, count in zip(data.classes, data.class_counts()):
        if count < n_splits:
            examples = "1 example" if count == 1 else f"{count} examples"
            raise DataError(
                f"class '{name}' has {examples}, too few for {asked}: "
                f"every class needs at least {n_splits} (one per split); add examples to it "
                f"(for synthetic_gestures raise clips_per_class or lower imbalance_ratio)")

    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in range(len(data.classes)):
        members = rng.permutation(np.flatnonzero(data.y == label))
        n_val, n_test = _sizes(len(members), val_fraction, test_fraction)
        parts["val"].append(members[:n_val])
        parts["test"].append(members[n_val:n_val + n_test])
        parts["train"].append(members[n_val + n_test:])
    # Sorted indices keep the dataset's own order inside each split.
    train, val, test = (data.subset(np.sort(np.concatenate(parts[name])))
                        for name in ("train", "val", "test"))
    return Splits(train, val, test if test_fraction > 0 else None)


def shipped_split(data: LabeledArrays) -> Splits:
    """The split the dataset ships with (``data.split``): its train, validation and test examples."""
    if data.split is None:
        raise ValueError("the dataset ships no split; use stratified_split")
    parts = {part: data.subset(np.flatnonzero(data.split == part)) for part in (TRAIN, VAL, TEST)}
    for part, name in ((TRAIN, "training"), (VAL, "validation")):
        if len(parts[part]) == 0:
            raise DataError(f"the dataset's own split has no {name} examples; check its split "
                            f"files, or remove them to split it stratified")
    return Splits(parts[TRAIN], parts[VAL], parts[TEST] if len(parts[TEST]) else None)
