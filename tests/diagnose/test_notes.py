"""Secondary notes tell one story with the stop reason and the objective the run optimised."""

from __future__ import annotations

import pytest

from curve_cases import falling, history, rising
from diagnose.diagnosis import RunContext, diagnose

# Accuracy still climbing at the end; macro-F1 (the objective here) flat for the last third.
CLIMBING_ACCURACY_FLAT_F1 = dict(
    train_loss=falling(1.5, 0.2, 15), val_loss=falling(1.5, 0.3, 15),
    train_accuracy=rising(0.5, 0.97, 15), val_accuracy=rising(0.5, 0.93, 15),
    val_macro_f1=rising(0.4, 0.8, 10) + [0.8] * 5)
F1 = RunContext("val_macro_f1", True)


def notes(columns: dict, context: RunContext = RunContext()) -> list[str]:
    return [n.label for n in diagnose(history(**columns), context).notes]


def test_notes_watch_the_objective_when_the_run_had_one():
    assert "still_improving" in notes(CLIMBING_ACCURACY_FLAT_F1)  # a log: accuracy is watched
    assert "still_improving" not in notes(CLIMBING_ACCURACY_FLAT_F1, F1)


def test_a_run_stopped_on_plateau_is_never_said_to_be_still_improving():
    climbing = dict(CLIMBING_ACCURACY_FLAT_F1, val_macro_f1=rising(0.4, 0.9, 15))
    assert "still_improving" in notes(climbing, F1)
    assert "still_improving" not in notes(climbing, RunContext("val_macro_f1", True, True))


@pytest.mark.parametrize("tail, improving", [
    ([0.95, 0.97, 0.989], True),
    ([0.97, 0.989, 0.870], False),  # the smoothed curve still climbs; the raw values fell
    ([0.989, 0.95, 0.870], False),
], ids=["rising to the end", "fell in the last epoch", "fell over the last two"])
def test_still_improving_needs_the_raw_values_to_have_risen(tail, improving):
    val_accuracy = rising(0.5, 0.93, 9) + tail
    columns = dict(train_loss=falling(1.5, 0.2, 12), val_loss=falling(1.5, 0.3, 12),
                   train_accuracy=rising(0.5, 0.99, 12), val_accuracy=val_accuracy)
    assert ("still_improving" in notes(columns)) is improving
