"""Each rule on small curves that show (or just miss) what it looks for: one table per rule."""

from __future__ import annotations

import pytest

from curve_cases import DIVERGED, HEALTHY, IMBALANCED, OVERFIT, UNDERFIT, history, per_class
from diagnose.curves import Curves
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
