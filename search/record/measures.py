"""The one definition of each quantity plateau shows: where a curve ends, the generalization gap, the
best epoch, and the classification metrics of an epoch and per class.

The training loop, the rules, the dashboard's attributes and figures, the notes and the table all call
these, so a number shown anywhere is the number a rule judged. numpy only: no torch, no scikit-learn
(whose import alone takes over a second; ``tests/search/record/test_measures.py`` checks these
per-class metrics against scikit-learn's).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from search.record.history import History, PerClass

# Where a curve ends: the median of its last 3 finite epochs. One noisy epoch (small validation sets
# move in steps of one example) cannot move it and, unlike a moving average, it hardly lags a trend.
END_WINDOW = 3
# Digits a measured number keeps wherever it is shown (evidence, dashboard attributes, notes): enough
# for one example in 10,000, and the same everywhere so that the numbers compare equal.
SHOWN_DIGITS = 4

Values = Sequence[float | None] | np.ndarray


def as_array(values: Values) -> np.ndarray:
    """Values as a float array, NaN where a value is missing (None)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def end_value(values: Values) -> float:
    """Where a curve ends: the median of its last ``END_WINDOW`` finite values (NaN if none)."""
    array = as_array(values)
    finite = array[np.isfinite(array)]
    return float(np.median(finite[-END_WINDOW:])) if len(finite) else math.nan


def last_value(values: Values) -> float:
    """The value at the last epoch that has a finite one (NaN if none)."""
    array = as_array(values)
    finite = array[np.isfinite(array)]
    return float(finite[-1]) if len(finite) else math.nan


def best_index(values: Values, maximize: bool) -> int | None:
    """Index of the best finite value (the first, on ties), or None if there is none."""
    array = as_array(values)
    finite = np.isfinite(array)
    if not finite.any():
        return None
    masked = np.where(finite, array, -np.inf if maximize else np.inf)
    return int(np.argmax(masked) if maximize else np.argmin(masked))


def generalization_gap(history: History) -> float:
    """Training minus validation accuracy where the curves end (positive: fits training better);
    NaN when either was not logged."""
    return end_value(history.column("train_accuracy")) - end_value(history.column("val_accuracy"))


def shown(value: float | None) -> float | None:
    """A measured number as it is shown and stored: ``SHOWN_DIGITS`` decimals; None if not finite."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), SHOWN_DIGITS)


def plural(n: int, noun: str) -> str:
    """"1 trial", "3 trials": a count with its noun, singular or plural (a regular -s plural)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """The confusion matrix of integer labels ``0..num_classes-1`` (rows: true, columns: predicted)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = num_classes
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def summary_metrics(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, float]:
    """``accuracy``, ``macro_f1`` over all ``num_classes`` classes (a class never seen nor predicted
    scores 0) and ``balanced_accuracy`` (mean recall over the classes present), as scikit-learn's
    ``accuracy_score``, ``f1_score(labels=range(k), average="macro", zero_division=0)`` and
    ``balanced_accuracy_score`` give them."""
    matrix = confusion(y_true, y_pred, num_classes)
    recall = np.array(_ratio(np.diag(matrix), matrix.sum(axis=1)))
    present = matrix.sum(axis=1) > 0
    return {"accuracy": float(np.trace(matrix) / matrix.sum()),
            "macro_f1": float(np.mean(_f1(matrix))),
            "balanced_accuracy": float(recall[present].mean()) if present.any() else math.nan}


def per_class_results(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str],
                      train_counts: Sequence[int] | None = None,
                      epoch: int | None = None) -> PerClass:
    """Precision, recall, F1, support and the confusion matrix of integer labels
    ``0..len(classes)-1``, as scikit-learn's ``precision_recall_fscore_support(...,
    zero_division=0)`` and ``confusion_matrix`` give them."""
    matrix = confusion(y_true, y_pred, len(classes))
    true_positive, support = np.diag(matrix), matrix.sum(axis=1)
    return PerClass(
        classes=list(classes),
        precision=_ratio(true_positive, matrix.sum(axis=0)),
        recall=_ratio(true_positive, support),
        f1=_f1(matrix),
        support=[int(s) for s in support],
        confusion_matrix=matrix.tolist(),
        train_counts=None if train_counts is None else [int(c) for c in train_counts],
        epoch=epoch,
    )


def _f1(matrix: np.ndarray) -> list[float]:
    """Per-class F1 = 2TP / (support + predicted) = 2PR / (P + R); 0 where undefined."""
    return _ratio(2 * np.diag(matrix), matrix.sum(axis=1) + matrix.sum(axis=0))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> list[float]:
    out = np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)
    return [float(v) for v in out]
