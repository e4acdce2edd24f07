"""The one definition of each shown quantity: where a curve ends, the gap, the best epoch, and the
classification metrics, checked against scikit-learn (imported here only)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix, f1_score,
                             precision_recall_fscore_support)

from search.record.history import History
from search.record.measures import (END_WINDOW, best_index, end_value, generalization_gap,
                                    last_value, per_class_results, plural, shown, summary_metrics)

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("values, end", [
    ([0.5, 0.6, 0.7, 0.8], 0.7),  # the median of the last 3
    ([0.9, 0.1, 0.9], 0.9),  # one bad epoch cannot move it
    ([0.5, 0.6, NAN, None, INF], 0.55),  # only finite values count
    ([0.4], 0.4),
    ([NAN, None], None),
    ([], None),
], ids=["median of last 3", "one outlier", "non-finite skipped", "one value", "none finite", "empty"])
def test_where_a_curve_ends(values, end):
    assert END_WINDOW == 3
    result = end_value(values)
    assert math.isnan(result) if end is None else result == pytest.approx(end)


@pytest.mark.parametrize("values, last", [
    ([0.5, 0.6, 0.7], 0.7), ([0.5, 0.6, NAN], 0.6), ([0.5, INF, -INF], 0.5), ([0.5, None], 0.5),
    ([NAN, NAN], None), ([None], None)],
    ids=["last", "nan skipped", "infs skipped", "missing skipped", "all nan", "never logged"])
def test_the_last_finite_value(values, last):
    result = last_value(values)
    assert math.isnan(result) if last is None else result == last


@pytest.mark.parametrize("values, maximize, index", [
    ([0.2, 0.5, 0.4], True, 1), ([0.2, 0.5, 0.4], False, 0),
    ([0.5, 0.7, 0.7], True, 1),  # ties: the first
    ([NAN, 0.3, INF, None], True, 1),  # only finite values
    ([NAN, None], True, None), ([], False, None),
], ids=["maximize", "minimize", "first of ties", "non-finite skipped", "none finite", "empty"])
def test_best_index(values, maximize, index):
    assert best_index(values, maximize) == index


@pytest.mark.parametrize("train, val, gap", [
    ([0.6, 0.8, 0.9, 1.0], [0.6, 0.7, 0.7, 0.7], 0.2),  # medians of the last 3: 0.9 - 0.7
    ([0.6, 0.7, 0.7], [0.6, 0.8, 0.9], -0.1),  # validation above training (dropout while training)
    ([0.6, 0.9, NAN], [0.6, 0.7, 0.8], 0.05),  # each curve's own finite values: 0.75 - 0.7
    ([0.9, None], [None, None], None),  # no validation accuracy
], ids=["positive", "negative", "nan skipped", "no validation"])
def test_the_generalization_gap_is_train_minus_val_where_the_curves_end(train, val, gap):
    history = History([{"epoch": i + 1, "train_accuracy": t, "val_accuracy": v}
                       for i, (t, v) in enumerate(zip(train, val))])
    result = generalization_gap(history)
    assert math.isnan(result) if gap is None else result == pytest.approx(gap)


@pytest.mark.parametrize("value, result", [
    (0.123456, 0.1235), (np.float32(0.5), 0.5), (2, 2.0), (NAN, None), (INF, None), (None, None)])
def test_shown_numbers_keep_four_decimals_and_drop_non_finite_ones(value, result):
    assert shown(value) == result
    assert result is None or type(shown(value)) is float


RNG = np.random.default_rng(0)


def _labels(n: int, k: int, skill: float, never: int | None = None):
    y_true = RNG.integers(0, k, n)
    y_pred = np.where(RNG.random(n) < skill, y_true, RNG.integers(0, k, n))
    if never is not None:  # a class never predicted: its precision is 0/0
        y_pred = np.where(y_pred == never, 0, y_pred)
    return y_true, y_pred


CASES = {  # (y_true, y_pred, number of classes)
    "noisy 4 classes": (*_labels(200, 4, 0.6), 4),
    "a class never predicted": (*_labels(150, 5, 0.5, never=4), 5),
    "a class absent from both": (np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]), 3),
    "majority predictor": (np.array([0] * 9 + [1]), np.zeros(10, dtype=int), 2),
    "perfect": (np.arange(6) % 3, np.arange(6) % 3, 3),
    "predicts a class not in y_true": (np.array([0, 0, 1, 1]), np.array([0, 2, 1, 2]), 3),
}


@pytest.mark.parametrize("y_true, y_pred, k", CASES.values(), ids=CASES.keys())
def test_summary_metrics_are_scikit_learns(y_true, y_pred, k):
    import warnings

    metrics = summary_metrics(y_true, y_pred, k)
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true", as expected there
        warnings.simplefilter("ignore")
        assert metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert metrics["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert metrics["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, labels=np.arange(k), average="macro", zero_division=0))
    assert all(type(v) is float for v in metrics.values())


@pytest.mark.parametrize("y_true, y_pred, k", CASES.values(), ids=CASES.keys())
def test_per_class_results_are_scikit_learns(y_true, y_pred, k):
    labels = np.arange(k)
    result = per_class_results(y_true, y_pred, [f"c{i}" for i in labels], [10] * k, epoch=3)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    assert result.precision == pytest.approx(list(precision))
    assert result.recall == pytest.approx(list(recall))
    assert result.f1 == pytest.approx(list(f1))
    assert result.support == list(support)
    assert result.confusion_matrix == confusion_matrix(y_true, y_pred, labels=labels).tolist()
    assert result.train_counts == [10] * k and result.epoch == 3
    assert all(type(v) is float for v in result.precision + result.recall + result.f1)
    assert all(type(v) is int for v in result.support)


@pytest.mark.parametrize("n, noun, text", [(0, "trial", "0 trials"), (1, "trial", "1 trial"),
                                           (2, "epoch", "2 epochs"), (1, "epoch", "1 epoch")])
def test_a_count_with_its_noun(n, noun, text):
    assert plural(n, noun) == text
