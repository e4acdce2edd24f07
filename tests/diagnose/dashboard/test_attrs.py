"""A trial's end as scalar user attributes: labels, last finite values, gap, facts; all plain JSON."""

from __future__ import annotations

import json
import math

import pytest

from curve_cases import INF, NAN, OVERFIT, UNDERFIT, history, per_class
from diagnose.dashboard.attrs import FINAL_COLUMNS, generalization_gap, last_finite, trial_attrs
from diagnose.diagnosis import diagnose
from search.history import History


def _underfit_and_imbalanced() -> History:
    h = history(**UNDERFIT["stuck near chance"][0])
    h.per_class = per_class([200, 200, 10], [0.95, 0.95, 0.1])
    return h


@pytest.mark.parametrize("build, labels", [
    (lambda: history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0]),
     "overfit"),
    (_underfit_and_imbalanced, "underfit, imbalanced"),
    (lambda: history(train_loss=[2.3], val_loss=[2.2], train_accuracy=[0.2], val_accuracy=[0.2]),
     "not judged"),
], ids=["overfit", "two labels", "too short"])
def test_the_diagnosis_attribute_is_the_labels_as_one_string(build, labels):
    h = build()
    assert trial_attrs(h, diagnose(h))["diagnosis"] == labels


@pytest.mark.parametrize("values, expected", [
    ([0.5, 0.6, 0.7], 0.7),
    ([0.5, 0.6, NAN], 0.6),
    ([0.5, INF, -INF], 0.5),
    ([0.5, None, None], 0.5),  # not logged in the last epochs
    ([NAN, NAN], None),
    ([None, None], None),
], ids=["last", "nan skipped", "infs skipped", "missing skipped", "all nan", "never logged"])
def test_last_finite(values, expected):
    h = history(train_loss=[1.0] * len(values), val_loss=values)
    assert last_finite(h, "val_loss") == expected


@pytest.mark.parametrize("train, val, expected", [
    ([0.6, 0.9], [0.6, 0.7], 0.2),  # overfitting: positive
    ([0.6, 0.7], [0.6, 0.9], -0.2),  # validation above training (dropout on while training)
    ([0.6, 0.9, NAN], [0.6, 0.7, 0.8], 0.2),  # the last epoch with both finite
    ([0.6, 0.9, 0.95], [0.6, 0.7, INF], 0.2),
    ([0.6, 0.9, 0.95], [0.6, 0.7, None], 0.2),
    ([0.9, None], [None, 0.7], None),  # never both in one epoch
], ids=["positive", "negative", "nan train", "inf val", "val not logged", "never both"])
def test_generalization_gap_is_train_minus_val_at_the_last_epoch_with_both(train, val, expected):
    gap = generalization_gap(history(train_accuracy=train, val_accuracy=val))
    assert gap == (None if expected is None else pytest.approx(expected))


def test_final_values_come_from_the_last_finite_epoch_and_nothing_non_finite_is_written():
    h = history(train_loss=[2.3, 1.9, 1.5, NAN], val_loss=[2.2, 1.8, INF, NAN],
                train_accuracy=[0.2, 0.3, 0.4, NAN], val_accuracy=[0.2, 0.25, 0.3, NAN],
                val_macro_f1=[0.1, 0.2, NAN, NAN])
    attrs = trial_attrs(h, diagnose(h))
    assert attrs["diagnosis"] == "diverged"
    assert attrs["final_train_loss"] == 1.5
    assert attrs["final_val_loss"] == 1.8
    assert attrs["final_train_accuracy"] == 0.4
    assert attrs["final_val_accuracy"] == 0.3
    assert attrs["final_val_macro_f1"] == 0.2
    assert attrs["generalization_gap"] == pytest.approx(0.1)
    assert attrs["epochs_run"] == 4  # every epoch run counts, finite or not
    text = json.dumps(attrs, allow_nan=False)  # raises on NaN / inf
    assert json.loads(text) == attrs
    assert all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in attrs.values())


def test_values_are_rounded_to_six_decimals():
    h = history(train_accuracy=[0.12345678, 0.987654321], val_accuracy=[0.1, 0.333333333])
    attrs = trial_attrs(h, diagnose(h))
    assert attrs["final_train_accuracy"] == 0.987654
    assert attrs["final_val_accuracy"] == 0.333333
    assert attrs["generalization_gap"] == 0.654321


@pytest.mark.parametrize("train, val, sign", [([0.5, 0.95], [0.5, 0.7], 1), ([0.5, 0.7], [0.5, 0.8], -1)],
                         ids=["train above", "val above"])
def test_the_gap_attribute_has_the_sign_of_train_minus_val(train, val, sign):
    h = history(train_loss=[1.0, 0.5], train_accuracy=train, val_accuracy=val)
    gap = trial_attrs(h, diagnose(h))["generalization_gap"]
    assert math.copysign(1, gap) == sign


@pytest.mark.parametrize("facts, expected", [
    ({"stop_reason": "completed 3 epochs", "param_count": 12345, "objective": "val_macro_f1"},
     {"stop_reason": "completed 3 epochs", "param_count": 12345}),
    ({"stop_reason": "pruned at epoch 2 by HyperbandPruner"},
     {"stop_reason": "pruned at epoch 2 by HyperbandPruner"}),
    ({"param_count": 7}, {"param_count": 7}),
    ({}, {}),
], ids=["both", "stop reason only", "param count only", "neither"])
def test_stop_reason_and_param_count_pass_through_when_present(facts, expected):
    h = history(train_loss=[1.0, 0.8, 0.6])
    h.facts = dict(facts)
    attrs = trial_attrs(h, diagnose(h))
    assert {k: attrs[k] for k in ("stop_reason", "param_count") if k in attrs} == expected
    assert "objective" not in attrs  # only the facts people sort by


def test_columns_a_history_lacks_are_left_out():
    h = history(train_loss=[2.0, 1.0, 0.5], val_loss=[2.1, 1.2, 0.9])  # losses only
    attrs = trial_attrs(h, diagnose(h))
    assert set(attrs) == {"diagnosis", "final_train_loss", "final_val_loss", "epochs_run"}
    assert attrs["epochs_run"] == 3


def test_an_empty_history_has_only_labels_and_epoch_count():
    h = History()
    assert trial_attrs(h, diagnose(h)) == {"diagnosis": "not judged", "epochs_run": 0}
    assert all(last_finite(h, column) is None for column in FINAL_COLUMNS)
