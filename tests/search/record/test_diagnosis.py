"""A diagnosis as data: its labels as one string, why, the words of a change, and its JSON form."""

from __future__ import annotations

import json

import pytest

from search.record.diagnosis import Change, Diagnosis, Finding, Fix

OVERFIT = Finding("overfit", 0.7, "train 0.2 above val", {"accuracy_gap": 0.2},
                  (Fix("dropout", "why", (Change("set", "space.dropout", {"low": 0.3, "high": 0.6}),)),))
IMBALANCED = Finding("imbalanced", 0.9, "minority recalled 0.1", {"imbalance_ratio": 20.0})


@pytest.mark.parametrize("diagnosis, text, because", [
    (Diagnosis(("overfit",), (OVERFIT,)), "overfit", "train 0.2 above val"),
    (Diagnosis(("overfit", "imbalanced"), (OVERFIT, IMBALANCED)), "overfit, imbalanced",
     "train 0.2 above val"),
    (Diagnosis(("healthy",), ()), "healthy", ""),
    (Diagnosis((), (), (), {"overfit": "too short", "imbalanced": "no per-class results"}),
     "not judged", "too short"),
    (Diagnosis((), (), (), {"imbalanced": "no per-class results"}), "not judged",
     "no per-class results"),
], ids=["one label", "two labels", "healthy", "not judged", "not judged, overfit judged"])
def test_labels_as_one_string_and_why(diagnosis, text, because):
    assert diagnosis.label_text == text
    assert diagnosis.because() == because


@pytest.mark.parametrize("change, text", [
    (Change("set", "space.dropout", {"low": 0.3, "high": 0.6}), "space.dropout: search [0.3, 0.6]"),
    (Change("set", "space.lr", {"low": 1e-4, "high": 1e-2, "log": True}),
     "space.lr: search [0.0001, 0.01] (log scale)"),
    (Change("set", "space.grad_clip_norm", {"choices": [0.5, 1.0]}),
     "space.grad_clip_norm: choose from [0.5, 1.0]"),
    (Change("set", "objective", "val_macro_f1"), "objective: set to val_macro_f1"),
    (Change("include", "space.loss", ["focal", "weighted_cross_entropy"]),
     "space.loss: also try focal, weighted_cross_entropy"),
    (Change("scale", "space.lr", 0.1), "space.lr: x0.1"),
])
def test_a_change_in_words(change, text):
    assert change.text() == text


def test_a_fix_outside_the_search_space_says_so():
    assert Fix("ensemble", "average models").text() == "(outside the search space)"
    assert OVERFIT.fixes[0].text() == "space.dropout: search [0.3, 0.6]"


def test_the_json_form_round_trips_exactly():
    original = Diagnosis(("overfit", "imbalanced"), (OVERFIT, IMBALANCED),
                         (Finding("early_optimum", 0.61234, "best at 3", {"best_epoch": 3},
                                  OVERFIT.fixes, (3,)),), {"diverged": "no loss"})
    data = json.loads(json.dumps(original.to_json(), allow_nan=False))
    assert Diagnosis.from_json(data) == original
    assert data["findings"][0]["fixes"][0]["change"] == "space.dropout: search [0.3, 0.6]"
