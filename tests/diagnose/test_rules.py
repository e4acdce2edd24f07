"""Each rule on small curves that show (or just miss) what it looks for: one table per rule."""

from __future__ import annotations

import math

import pytest

from curve_cases import (DIVERGED, HEALTHY, IMBALANCED, INF, NAN, OVERFIT, UNDERFIT, falling,
                         history, per_class, rising)
from diagnose.curves import Curves
from diagnose.diagnosis import diagnose
from search.record.diagnosis import Finding
from diagnose.rules import NotJudged, diverged, imbalanced, overfit, underfit
from search.record.history import History

def outcome(rule, h: History) -> str:
    result = rule(Curves(h))
    if isinstance(result, Finding):
        return "fires"
    return "not judged" if isinstance(result, NotJudged) else "holds not"


@pytest.mark.parametrize("rule, columns, expected", [
    *[(diverged, cols, exp) for cols, exp in DIVERGED.values()],
    *[(overfit, cols, exp) for cols, exp in OVERFIT.values()],
    *[(underfit, cols, exp) for cols, exp in UNDERFIT.values()],
], ids=[*(f"diverged: {k}" for k in DIVERGED), *(f"overfit: {k}" for k in OVERFIT),
        *(f"underfit: {k}" for k in UNDERFIT)])
def test_curve_rules(rule, columns, expected):
    assert outcome(rule, history(**columns)) == expected


@pytest.mark.parametrize("results, expected", IMBALANCED.values(), ids=IMBALANCED.keys())
def test_imbalanced(results, expected):
    h = history(**HEALTHY)
    h.per_class = results
    assert outcome(imbalanced, h) == expected


# Keras' Precision() and Recall() track the positive class of a binary model; one that predicts the
# majority (negative) class only logs 0 for both, and its accuracy is the majority's share.
COLLAPSE = {
    "collapsed onto the majority: precision = recall = 0, accuracy = its share": (
        [0.2, 0.05, 0.0, 0.0, 0.0], [0.1, 0.02, 0.0, 0.0, 0.0], [0.82, 0.85, 0.85, 0.85, 0.85],
        "fires"),
    "the positive class is found: not collapsed": (
        [0.4, 0.6, 0.7, 0.72, 0.74], [0.3, 0.5, 0.6, 0.65, 0.66], [0.8, 0.86, 0.9, 0.91, 0.92],
        "not judged"),
    "zero for a while, then it learned": (
        [0.0, 0.0, 0.0, 0.5, 0.6], [0.0, 0.0, 0.0, 0.4, 0.5], [0.85, 0.85, 0.85, 0.88, 0.9],
        "not judged"),
}


@pytest.mark.parametrize("precision, recall, accuracy, expected", COLLAPSE.values(),
                         ids=COLLAPSE.keys())
def test_collapse_onto_the_majority_is_read_from_logged_precision_and_recall(
        precision, recall, accuracy, expected):
    h = history(train_loss=falling(0.6, 0.4, 5), val_loss=falling(0.6, 0.42, 5),
                train_accuracy=accuracy, val_accuracy=accuracy, val_precision=precision,
                val_recall=recall)
    assert outcome(imbalanced, h) == expected


def test_imbalance_is_never_claimed_without_per_class_results():
    result = imbalanced(Curves(history(**HEALTHY)))
    assert isinstance(result, NotJudged) and "--predictions" in result.reason


def test_findings_carry_their_numbers_and_thresholds():
    h = history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0])
    finding = overfit(Curves(h))
    assert finding.evidence["accuracy_gap_threshold"] == 0.10
    assert finding.evidence["accuracy_gap"] > 0.15
    assert finding.evidence["generalization_loss"] > 50
    assert finding.epochs[-1] == 20 and 0.5 <= finding.confidence <= 1
    missed = imbalanced(Curves(History(h.rows, per_class([200, 200, 10], [0.95, 0.95, 0.1]))))
    assert missed.evidence["minority_classes"] == ["c2"]
    assert missed.evidence["imbalance_ratio"] == 20.0


# Curves no sound log has (a History built by hand skips the loaders' checks): each rule must still
# give a verdict whose confidence is a number in [0.5, 1], never NaN, and never crash.
NONSENSE = {
    "negative accuracies": (dict(train_loss=falling(1.0, 0.5, 6), train_accuracy=[-0.5] * 6,
                                 val_accuracy=[-0.5] * 6), ("underfit",)),
    "negative losses rising 49 nats (10x a negative start is no blow-up)": (
        dict(val_loss=[-50.0, -1.0, -1.0], train_accuracy=[-0.5, -1e6, -1e6]), ("underfit",)),
    "negative first loss, then a real blow-up": (dict(train_loss=[-1.0, 20.0, 30.0, 40.0]),
                                                  ("diverged",)),
    "all-NaN training loss, no accuracy": (dict(train_loss=[NAN, NAN, -INF]), ("diverged",)),
    "first training loss 0: its fall cannot be measured": (dict(train_loss=[0.0, 0.5, 0.5, 0.5]),
                                                           ()),
    "validation loss 0 at its optimum": (dict(train_loss=falling(1.0, 0.01, 8),
                                              val_loss=[0.5, 0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]),
                                         ("overfit",)),
}


@pytest.mark.parametrize("columns, labels", NONSENSE.values(), ids=NONSENSE.keys())
def test_nonsense_curves_get_finite_confidences(columns, labels):
    result = diagnose(history(**columns))
    assert all(0.25 <= f.confidence <= 1 for f in result.findings), result.findings
    assert result.labels == labels


def _every_curve_case() -> list[History]:
    tables = [DIVERGED, OVERFIT, UNDERFIT]
    cases = [history(**columns) for table in tables for columns, _ in table.values()]
    cases += [History(history(**HEALTHY).rows, results) for results, _ in IMBALANCED.values()]
    return cases + [history(**columns) for columns, _ in NONSENSE.values()]


def test_no_diagnosis_of_any_curve_case_has_a_nan_confidence():
    confidences = [f.confidence for h in _every_curve_case() for f in diagnose(h).findings]
    assert len(confidences) > 10
    assert all(isinstance(c, float) and not math.isnan(c) and 0.25 <= c <= 1 for c in confidences)


@pytest.mark.parametrize("val_end, borderline, low, high", [
    (0.87, True, 0.25, 0.5),  # gap 0.114 where the curves end: within 0.03 of the 0.10 line
    (0.80, False, 0.5, 1.0),  # gap 0.20
    (0.60, False, 1.0, 1.0),  # gap 0.40: far past it
])
def test_an_overfit_gap_near_its_line_is_borderline_with_lower_confidence(val_end, borderline,
                                                                          low, high):
    finding = overfit(Curves(history(
        train_loss=falling(1.0, 0.01, 20), val_loss=falling(1.0, 0.5, 8) + rising(0.5, 0.9, 12),
        train_accuracy=rising(0.7, 1.0, 20), val_accuracy=rising(0.6, val_end, 8) + [val_end] * 12)))
    assert finding.evidence["borderline"] is borderline
    assert low <= finding.confidence <= high
    assert ("borderline: within 0.03 of the 0.1 line" in finding.summary) is borderline
