"""Metrics come from scikit-learn; these pin down which ones and over which classes."""

from __future__ import annotations

import numpy as np
import pytest

from search.metrics import per_class_results, summary_metrics


def test_majority_predictor_scores_high_accuracy_but_low_macro_f1_and_balanced_accuracy():
    y_true = np.array([0] * 9 + [1])
    y_pred = np.zeros(10, dtype=int)
    m = summary_metrics(y_true, y_pred, num_classes=2)
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((2 * 0.9 / 1.9) / 2)


def test_macro_f1_counts_a_class_absent_from_labels_and_predictions_as_zero():
    m = summary_metrics(np.array([0, 1]), np.array([0, 1]), num_classes=3)
    assert m["accuracy"] == 1.0 and m["macro_f1"] == pytest.approx(2 / 3)


def test_per_class_results_hold_the_confusion_matrix_and_counts():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    result = per_class_results(y_true, y_pred, ["a", "b", "c"], np.array([10, 8, 2]), epoch=4)
    assert result.confusion_matrix == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert result.recall == [0.5, 1.0, 0.0]
    assert result.support == [2, 2, 1]
    assert result.train_counts == [10, 8, 2] and result.epoch == 4
    assert all(type(v) is float for v in result.precision)
