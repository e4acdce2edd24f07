"""The before/after of a fix study: the re-runs' mean and spread (never less than one validation
example), the best other trial, which fix carried the gain, whether the label is gone, the exit code."""

from __future__ import annotations

import pytest

from diagnose.lift import exit_code, judge, lines, markdown
from search.record.diagnosis import Diagnosis
from search.record.history import History
from search.record.trial import TrialRecord

BASE = {"architecture": "c3d", "dropout": 0.0, "lr": 0.001}
VAL = {"val": [50, 50]}  # 100 validation examples: one is worth 0.01


def record(number, value, labels=("overfit",), state="COMPLETE", trained=True, **hparams):
    history = History([{"epoch": 1, "val_macro_f1": value}] if trained else [])
    return TrialRecord(number, state, value, {}, history, hparams={**BASE, **hparams},
                       class_counts=VAL, diagnosis=Diagnosis(tuple(labels), ()))


ROLES = {0: "baseline", 1: "baseline", 2: "dropout", 3: "smaller_model"}


@pytest.mark.parametrize("values, maximize, improved, gain, noise", [
    # re-runs 0.70 and 0.74: mean 0.72, noise 0.04; the best fix 0.80: +0.08 > 0.04
    ((0.70, 0.74, 0.80, 0.75), True, True, 0.08, 0.04),
    # the best fix 0.75: +0.03, within the noise 0.04
    ((0.70, 0.74, 0.75, 0.60), True, False, 0.03, 0.04),
    # re-runs that agree: the noise is one validation example (0.01), not 0
    ((0.72, 0.72, 0.725, 0.60), True, False, 0.005, 0.01),
    ((0.72, 0.72, 0.74, 0.60), True, True, 0.02, 0.01),
    # minimised (a loss): lower is better
    ((0.50, 0.54, 0.40, 0.60), False, True, 0.12, 0.04),
])
def test_a_gain_counts_only_beyond_the_baseline_noise(values, maximize, improved, gain, noise):
    records = [record(n, v) for n, v in enumerate(values)]
    lift = judge(records, ROLES, BASE, 0.71, ("overfit",), "val_macro_f1", maximize)
    assert lift.gain == pytest.approx(gain) and lift.noise == pytest.approx(noise)
    assert lift.improved is improved and exit_code(lift) == (0 if improved else 1)


def test_the_winner_names_its_fix_and_whether_the_label_is_gone():
    records = [record(0, 0.70), record(1, 0.74), record(2, 0.85, ("healthy",), dropout=0.45),
               record(3, 0.80)]
    lift = judge(records, ROLES, BASE, 0.71, ("overfit",), "val_macro_f1", True)
    assert lift.winner.number == 2 and lift.carried_by == "dropout"
    assert lift.labels_after == ("healthy",) and lift.gone == ("overfit",)
    text = "\n".join(lines(lift, "trial #4 of study 'x'", "x-fix", ROLES, records))
    assert "before: trial #4 of study 'x' (overfit): val_macro_f1 0.7100" in text
    assert "0.7000, 0.7400; mean 0.7200, noise 0.0400" in text
    assert "after: trial #2 (dropout): val_macro_f1 0.8500; +0.1300" in text
    assert "overfit -> healthy (overfit gone)" in text
    assert text.splitlines()[-1] == "lifted: dropout gained +0.1300 > noise 0.0400"
    assert lift.to_json() == {
        "metric": "val_macro_f1", "maximize": True, "original": 0.71, "reruns": [0.70, 0.74],
        "before": pytest.approx(0.72), "noise": pytest.approx(0.04), "after": 0.85, "winner": 2,
        "carried_by": "dropout", "gain": pytest.approx(0.13), "improved": True,
        "labels_before": ["overfit"], "labels_after": ["healthy"], "gone": ["overfit"]}
    note = markdown(lift, "trial #4 of study 'x'", "x-fix", ROLES, records)
    assert note[0] == "## Fix: before and after" and "**lifted: dropout" in note[-2]


def test_a_sampled_winner_is_credited_to_the_hyperparameters_it_changed():
    records = [record(0, 0.70), record(1, 0.74), record(4, 0.90, ("healthy",), dropout=0.35)]
    lift = judge(records, ROLES, BASE, None, ("overfit",), "val_macro_f1", True)
    assert lift.carried_by == "sampled: dropout 0 -> 0.35"


def test_the_label_that_stays_is_said_to_remain():
    records = [record(0, 0.70), record(1, 0.74), record(2, 0.90)]
    lift = judge(records, ROLES, BASE, None, ("overfit",), "val_macro_f1", True)
    assert lift.improved and lift.gone == ()
    assert "overfit -> overfit (the baseline's labels remain)" in "\n".join(
        lines(lift, "b", "x-fix", ROLES, records))


@pytest.mark.parametrize("records", [
    [record(0, 0.70), record(1, None, state="FAIL"), record(2, 0.95)],  # one re-run failed
    [record(0, 0.70), record(1, 0.72)],  # no fix trial completed
])
def test_without_two_reruns_or_a_fix_trial_nothing_is_claimed(records):
    lift = judge(records, ROLES, BASE, None, ("overfit",), "val_macro_f1", True)
    assert not lift.improved and exit_code(lift) == 1
    assert lines(lift, "b", "x-fix", ROLES, records)[-1].startswith("not lifted")


def test_the_samplers_repeats_are_counted_not_listed():
    records = [record(0, 0.70), record(1, 0.74), record(2, 0.85, ("healthy",)),
               record(3, 0.85, ("healthy",), trained=False), record(4, 0.85, trained=False)]
    lift = judge(records, ROLES, BASE, None, ("overfit",), "val_macro_f1", True)
    text = lines(lift, "b", "x-fix", ROLES, records)
    assert lift.winner.number == 2  # the trained one, not a repeat reusing its value
    assert "trials: (2 more repeated an earlier trial's parameters and were not trained)" in text
    assert not any(line.startswith(("  #3 ", "  #4 ")) for line in text)
