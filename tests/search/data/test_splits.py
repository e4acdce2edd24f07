"""Stratified, seeded train / val / test splits."""

from __future__ import annotations

import numpy as np
import pytest

from search.data.labeled import LabeledArrays
from search.data.splits import stratified_split
from search.record.errors import DataError


def dataset(counts: list[int]) -> LabeledArrays:
    """Classes of the given sizes, interleaved; each example's x encodes its index (two bytes)."""
    y = np.repeat(np.arange(len(counts)), counts)
    y = y[np.random.default_rng(0).permutation(len(y))]
    ids = np.arange(len(y))
    x = np.stack([ids // 256, ids % 256], axis=1).astype(np.uint8)[:, :, None, None]
    return LabeledArrays(x, y.astype(np.int64), tuple(f"class{c}" for c in range(len(counts))))


def ids(part: LabeledArrays) -> np.ndarray:
    return part.x[:, 0, 0, 0].astype(np.int64) * 256 + part.x[:, 1, 0, 0]


@pytest.mark.parametrize("counts, val, test", [
    ([200, 120, 60, 20], 0.2, 0.1),
    ([200, 120, 60, 20], 0.25, 0.0),
    ([300, 30], 0.5, 0.3),
])
def test_splits_are_stratified_disjoint_and_complete(counts, val, test):
    data = dataset(counts)
    splits = stratified_split(data, val_fraction=val, test_fraction=test, seed=0)
    parts = [splits.train, splits.val] + ([splits.test] if test else [])
    everything = np.concatenate([ids(p) for p in parts])
    assert sorted(everything.tolist()) == list(range(len(data)))  # disjoint and complete
    for part in parts:
        assert np.array_equal(part.y, data.y[ids(part)])  # labels travel with their examples
        assert part.classes == data.classes
        np.testing.assert_allclose(part.class_counts() / len(part), np.array(counts) / sum(counts),
                                   atol=0.02)
    for part, fraction in ((splits.val, val), (splits.test, test)):
        if fraction:
            assert abs(len(part) / len(data) - fraction) < 0.02


def test_test_split_is_none_without_test_fraction():
    splits = stratified_split(dataset([10, 10]), val_fraction=0.3, test_fraction=0.0, seed=0)
    assert splits.test is None and len(splits.train) + len(splits.val) == 20


def test_same_seed_same_splits_other_seed_other_splits():
    data = dataset([50, 30, 20])
    a, b, c = (stratified_split(data, val_fraction=0.2, test_fraction=0.2, seed=s) for s in (1, 1, 2))
    for name in ("train", "val", "test"):
        assert np.array_equal(ids(getattr(a, name)), ids(getattr(b, name)))
    assert not np.array_equal(ids(a.val), ids(c.val))


@pytest.mark.parametrize("counts, val, test", [
    ([3, 3, 100], 0.2, 0.1),  # the smallest classes that fit: one example per split
    ([2, 2, 100], 0.1, 0.0),
    ([4, 50], 0.6, 0.3),  # large fractions still leave one to train on
])
def test_every_class_is_in_every_split(counts, val, test):
    splits = stratified_split(dataset(counts), val_fraction=val, test_fraction=test, seed=0)
    for part in (splits.train, splits.val, splits.test):
        if part is not None:
            assert np.all(part.class_counts() >= 1)


@pytest.mark.parametrize("counts, val, test, words", [
    ([10, 2], 0.2, 0.1, "class 'class1' has 2 examples, too few for val_fraction=0.2 and "
                        "test_fraction=0.1: every class needs at least 3"),
    ([1, 10], 0.2, 0.0, "class 'class0' has 1 example, too few for val_fraction=0.2: "
                        "every class needs at least 2"),
])
def test_too_small_class_raises(counts, val, test, words):
    with pytest.raises(DataError) as error:
        stratified_split(dataset(counts), val_fraction=val, test_fraction=test, seed=0)
    assert words in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("val, test, words", [
    (0.0, 0.0, "'val_fraction' parameter of stratified_split must be a float in (0, 1). Got 0.0"),
    (1.0, 0.0, "'val_fraction'"),
    ("0.2", 0.0, "'val_fraction'"),
    (0.2, -0.1, "'test_fraction' parameter of stratified_split must be a float in [0, 1). Got -0.1"),
    (0.2, 1.0, "'test_fraction'"),
    (0.6, 0.4, "val_fraction + test_fraction must be < 1"),
])
def test_bad_fractions_raise(val, test, words):
    with pytest.raises(DataError) as error:
        stratified_split(dataset([20, 20]), val_fraction=val, test_fraction=test, seed=0)
    assert words in str(error.value)
