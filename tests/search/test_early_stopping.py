"""The plateau rule, against Keras EarlyStopping's semantics (patience, min_delta, start_from_epoch)."""

from __future__ import annotations

import math

import pytest

from search.early_stopping import EarlyStopping

# (values per epoch, maximize, patience, min_delta, warmup, should stop after the last value)
CASES = {
    "still improving": ([0.1, 0.2, 0.3, 0.4], True, 2, 0.0, 0, False),
    "flat for patience epochs": ([0.5, 0.5, 0.5], True, 2, 0.0, 0, True),
    "flat for one fewer": ([0.5, 0.5], True, 2, 0.0, 0, False),
    "worse counts as no improvement": ([0.5, 0.4, 0.3], True, 2, 0.0, 0, True),
    "gain below min_delta is not improvement": ([0.5, 0.504, 0.503], True, 2, 0.005, 0, True),
    "small gains add up against the best": ([0.5, 0.504, 0.508], True, 2, 0.005, 0, False),
    "gain above min_delta is improvement": ([0.5, 0.51, 0.52], True, 2, 0.005, 0, False),
    "improvement resets the wait": ([0.5, 0.5, 0.6, 0.6], True, 2, 0.0, 0, False),
    "minimize: falling loss improves": ([1.0, 0.9, 0.8], False, 1, 0.0, 0, False),
    "minimize: rising loss does not": ([1.0, 1.1, 1.2], False, 2, 0.0, 0, True),
    "warm-up epochs are not monitored": ([0.9, 0.1, 0.1, 0.1], True, 2, 0.0, 2, False),
    "after warm-up, best restarts": ([0.9, 0.1, 0.1, 0.1, 0.1], True, 2, 0.0, 2, True),
    "warm-up longer than the run": ([0.1, 0.1, 0.1], True, 1, 0.0, 5, False),
    "nan never improves": ([0.5, math.nan, math.nan], True, 2, 0.0, 0, True),
}


@pytest.mark.parametrize("values, maximize, patience, min_delta, warmup, expected",
                         CASES.values(), ids=CASES.keys())
def test_should_stop(values, maximize, patience, min_delta, warmup, expected):
    rule = EarlyStopping(patience=patience, min_delta=min_delta, warmup_epochs=warmup)
    assert rule.should_stop(values, maximize) is expected


@pytest.mark.parametrize("max_epochs, patience, warmup", [(4, 3, 1), (12, 5, 3), (20, 8, 5),
                                                          (100, 40, 25)])
def test_auto_scales_patience_and_warmup_with_the_budget(max_epochs, patience, warmup):
    rule = EarlyStopping.auto(max_epochs)
    assert (rule.patience, rule.warmup_epochs, rule.min_delta) == (patience, warmup, 0.0)
