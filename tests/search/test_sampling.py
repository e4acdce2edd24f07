"""Resampling the training split: oversampling and undersampling draw the classes evenly."""

from __future__ import annotations

from collections import Counter

import numpy as np

from search.sampling import train_sampler

Y = np.array([0] * 90 + [1] * 9 + [2] * 1)


def drawn(method: str, seed: int = 0) -> list[int]:
    return list(train_sampler(Y, method, seed))


def test_none_draws_every_example_once_in_a_new_order():
    order = drawn("none")
    assert sorted(order) == list(range(100)) and order != list(range(100))


def test_oversampling_draws_an_epoch_of_the_same_length_with_classes_about_even():
    counts = Counter(Y[drawn("oversample")])
    assert sum(counts.values()) == 100
    assert all(20 <= counts[c] <= 47 for c in range(3))  # about a third each (1/3 of 100 = 33)


def test_undersampling_draws_k_times_the_smallest_class_without_repeats():
    order = drawn("undersample")
    assert len(order) == 3 and len(set(order)) == 3


def test_the_same_seed_draws_the_same_epoch():
    assert drawn("oversample", 7) == drawn("oversample", 7) != drawn("oversample", 8)
