"""What a study as a whole shows: choices whose trials all ended early, the best trials' verdicts,
and how the fixes the study already searches did."""

from __future__ import annotations

import pytest

from diagnose.diagnosis import RunContext, diagnose
from diagnose.fixes import FIXES, tailored
from diagnose.overview import (TOP_K, best_verdicts, dead_choices, explored_result, explores, overview,
                               with_explored)
from search.record.diagnosis import Diagnosis, Finding
from search.record.history import History
from search.record.trial import TrialRecord, ranked

EMPTY = History([])


def record(number: int, state: str = "COMPLETE", value: float | None = 0.5,
           labels: tuple[str, ...] = ("healthy",), pruned_at: int | None = None,
           **hparams) -> TrialRecord:
    findings = tuple(Finding(label, 0.5, "", {}) for label in labels if label != "healthy")
    return TrialRecord(number, state, value, {}, EMPTY, hparams=hparams,
                       stop_reason=f"pruned at epoch {pruned_at} by HyperbandPruner"
                       if pruned_at else None, diagnosis=Diagnosis(labels, findings))


LOSSES = [record(0, value=0.90, loss="cross_entropy"), record(1, value=0.80, loss="focal"),
          record(2, value=0.85, loss="focal"), record(3, "PRUNED", 0.3, loss="focal", pruned_at=2),
          record(4, value=0.70, loss="weighted_cross_entropy")]


@pytest.mark.parametrize("fix, records, expected", [
    ("focal_loss", LOSSES, "focal loss was searched: 3 of 5 trials tried it; the best of them, #2, "
                           "reached val_macro_f1 0.85 (the study's best, #0: 0.9)"),
    ("weighted_cross_entropy", LOSSES, "weighted cross entropy was searched: 1 of 5 trials tried "
                                       "it; the best of them, #4, reached val_macro_f1 0.7 (the "
                                       "study's best, #0: 0.9)"),
    ("focal_loss", LOSSES[1:2], "focal loss was searched: 1 of 1 trial tried it; the best of "
                                "them, #1, is the study's best (val_macro_f1 0.8)"),
    ("focal_loss", LOSSES[3:4], "focal loss was searched: 1 of 1 trial tried it, and none of them "
                                "completed"),
    ("resampling", LOSSES, "over- or undersampling is searched, but no trial has tried it yet"),
], ids=["behind the best", "one trial", "the best itself", "none completed", "never tried"])
def test_an_explored_fix_says_how_the_trials_that_tried_it_did(fix, records, expected):
    assert explored_result(fix, records, maximize=True, metric="val_macro_f1") == expected


def test_minimizing_the_best_is_the_lowest():
    line = explored_result("focal_loss", LOSSES, maximize=False, metric="val_loss")
    assert "the best of them, #1, reached val_loss 0.8 (the study's best, #4: 0.7)" in line


@pytest.mark.parametrize("records, expected", [
    ([record(0, architecture="c3d"), record(1, "PRUNED", architecture="convlstm", pruned_at=1),
      record(2, "PRUNED", architecture="convlstm", pruned_at=1),
      record(3, "FAIL", None, architecture="convlstm")],
     ["all 3 trials with architecture convlstm were failed or pruned (at epochs 1, 1), while other "
      "architecture choices completed: drop it from the space, or give it more epochs before "
      "pruning (a pruner warm-up)"]),
    ([record(0, architecture="c3d"), record(1, "PRUNED", architecture="convlstm", pruned_at=1),
      record(2, architecture="convlstm")], []),  # one convlstm trial completed
    ([record(0, architecture="c3d"), record(1, "PRUNED", architecture="convlstm", pruned_at=3)],
     []),  # a choice tried once says nothing
    ([record(0, "PRUNED", architecture="c3d", pruned_at=1),
      record(1, "PRUNED", architecture="convlstm", pruned_at=1),
      record(2, "PRUNED", architecture="convlstm", pruned_at=1)], []),  # nothing completed at all
], ids=["all pruned or failed", "one completed", "tried once", "no choice completed"])
def test_a_choice_whose_trials_all_ended_early_is_named(records, expected):
    assert dead_choices(records) == expected


def test_the_best_trials_verdicts_are_counted_best_first():
    records = [record(i, value=v, labels=labels) for i, (v, labels) in enumerate([
        (0.9, ("overfit",)), (0.8, ("overfit", "imbalanced")), (0.1, ("underfit",)),
        (0.7, ("healthy",)), (0.6, ("overfit",)), (0.5, ("healthy",)), (0.2, ("underfit",))])]
    best = ranked(records, maximize=True)[:TOP_K]
    assert best_verdicts(best) == "the 5 best trials: overfit 3, healthy 2, imbalanced 1"
    assert best_verdicts(best[:1]) is None  # the note names the best's already
    assert overview([record(0, "PRUNED")], maximize=True, metric="value") == []


DEMO_STUDY = {"objective": "val_macro_f1",
              "space": {"loss": {"choices": ["cross_entropy", "weighted_cross_entropy", "focal"]},
                        "focal_gamma": {"low": 1.0, "high": 3.0},
                        "class_weighting": {"choices": ["inverse_frequency", "effective_number"]}}}


def _imbalanced_trial(number: int, value: float, loss: str) -> TrialRecord:
    fixes = tailored(FIXES["imbalanced"], DEMO_STUDY, {"loss": loss})
    finding = Finding("imbalanced", 0.9, "classes are 5:1 imbalanced", {}, fixes)
    return TrialRecord(number, "COMPLETE", value, {}, EMPTY, hparams={"loss": loss},
                       diagnosis=Diagnosis(("imbalanced",), (finding,)))


def test_a_trials_explored_fixes_say_how_the_studys_trials_did_and_the_overview_lists_them():
    records = [_imbalanced_trial(0, 0.6, "cross_entropy"), _imbalanced_trial(1, 0.7, "focal"),
               _imbalanced_trial(2, 0.5, "weighted_cross_entropy")]
    assert all(explores(r) for r in records)
    told = with_explored(records, maximize=True, metric="val_macro_f1")
    fixes = {fix.name: fix for fix in told[0].diagnosis.findings[0].fixes}
    assert fixes["focal_loss"].text() == ("focal loss was searched: 1 of 3 trials tried it; the "
                                          "best of them, #1, is the study's best (val_macro_f1 "
                                          "0.7)")
    assert fixes["focal_loss"].changes == () and fixes["resampling"].changes  # still proposed
    lines = overview(told, maximize=True, metric="val_macro_f1")
    assert lines[0] == "the 3 best trials: imbalanced 3"
    assert fixes["focal_loss"].text() in lines and fixes["weighted_cross_entropy"].text() in lines
    assert not any("resampling" in line or "oversampl" in line for line in lines)


def test_a_trial_without_explored_fixes_is_left_as_it_is():
    plain = record(0, labels=("overfit",))
    assert not explores(plain)
    assert with_explored([plain], maximize=True, metric="value") == [plain]


def test_a_real_diagnosis_marks_a_fix_explored_only_inside_a_study():
    from curve_cases import OVERFIT, history

    h = history(**OVERFIT["textbook: train to 1.0, validation stalls at 0.8, its loss rises"][0])
    study = {"space": {"dropout": {"low": 0.3, "high": 0.6}}}
    inside = diagnose(h, RunContext(study=study, hparams={"dropout": 0.3}))
    outside = diagnose(h)
    (dropout,) = [f for f in inside.findings[0].fixes if f.name == "dropout"]
    assert dropout.explored == "already searched (space.dropout)"
    assert not any(f.explored for f in outside.findings[0].fixes)
