"""Trials the pruner stopped: judged for being cut short, never "underfit" on length alone."""

from __future__ import annotations

import pytest

from curve_cases import NAN, falling, history, rising
from diagnose.diagnosis import RunContext, diagnose, diagnosed
from diagnose.pruned import Pruned
from search.record.history import History
from search.record.trial import TrialRecord

# Three epochs well under 90% accuracy: "underfit" if it had run its course.
SHORT_AND_LOW = dict(train_loss=falling(1.8, 1.2, 3), val_loss=falling(1.8, 1.25, 3),
                     train_accuracy=rising(0.2, 0.45, 3), val_accuracy=rising(0.2, 0.42, 3),
                     val_macro_f1=rising(0.15, 0.30, 3))


def pruned_at(epoch: int, peers=(0.55, 0.60, 0.50), maximize=True) -> RunContext:
    return RunContext("val_macro_f1", maximize, False,
                      Pruned(epoch, "val_macro_f1", maximize, tuple(peers)))


def test_a_short_run_is_underfit_unless_the_pruner_stopped_it():
    assert diagnose(history(**SHORT_AND_LOW)).labels == ("underfit",)
    d = diagnose(history(**SHORT_AND_LOW), pruned_at(3))
    assert d.labels == () and d.label_text == "pruned"
    assert d.because() == ("pruned at epoch 3: val_macro_f1 0.3000, 0.2500 behind the median of "
                           "the 3 other trials there (0.5500)")
    assert "pruner stopped the trial at epoch 3" in d.not_judged["underfit"]
    assert d.pruned.evidence["behind_median"] == 0.25


@pytest.mark.parametrize("columns, labels", [
    (dict(train_loss=[1.8, 1.4, NAN], val_loss=[1.8, 1.5, NAN], val_macro_f1=[0.2, 0.3, 0.0]),
     ("diverged",)),
    (dict(train_loss=falling(1.0, 0.002, 12), val_loss=falling(1.0, 0.5, 4) + rising(0.5, 1.2, 8),
          train_accuracy=rising(0.7, 1.0, 12), val_accuracy=rising(0.6, 0.7, 4) + [0.7] * 8,
          val_macro_f1=rising(0.5, 0.6, 4) + [0.6] * 8), ("overfit",)),
], ids=["diverged", "clear overfit"])
def test_evidence_that_does_not_depend_on_length_still_labels_a_pruned_trial(columns, labels):
    d = diagnose(history(**columns), pruned_at(len(columns["train_loss"])))
    assert d.labels == labels and d.pruned is not None


def test_notes_that_presume_a_full_run_are_dropped():
    rising_fast = dict(train_loss=falling(2.0, 0.8, 5), val_loss=falling(2.0, 0.85, 5),
                       train_accuracy=rising(0.2, 0.7, 5), val_accuracy=rising(0.2, 0.68, 5),
                       val_macro_f1=rising(0.1, 0.65, 5))
    assert "still_improving" in [n.label for n in diagnose(history(**rising_fast)).notes]
    notes = diagnose(history(**rising_fast), pruned_at(5, peers=(0.8,))).notes
    assert [n.label for n in notes] == ["pruned"]


@pytest.mark.parametrize("peers, maximize, says", [
    ((), True, "pruned at epoch 3: no other trial had reached that epoch"),
    ((0.2,), True, "0.1000 ahead of the median of the 1 other trial there (0.2000)"),
    ((0.2, 0.1), False, "0.1500 behind the median of the 2 other trials there (0.1500)"),
], ids=["no other trial there", "ahead (another bracket)", "minimised objective"])
def test_how_far_behind_it_was(peers, maximize, says):
    assert says in diagnose(history(**SHORT_AND_LOW), pruned_at(3, peers, maximize)).because()


def record(number: int, values: list[float], stop_reason: str,
           architecture: str = "c3d") -> TrialRecord:
    h = history(train_loss=falling(1.8, 1.2, len(values)), val_macro_f1=values)
    return TrialRecord(number, "PRUNED" if stop_reason.startswith("pruned") else "COMPLETE", None,
                       {}, h, objective="val_macro_f1", direction="maximize",
                       stop_reason=stop_reason, hparams={"architecture": architecture})


@pytest.mark.parametrize("stop_reason, epoch", [
    ("pruned at epoch 3 by HyperbandPruner", 3),
    ("pruned at epoch 12 by MedianPruner", 12),
    ("same parameters as trial #1 (pruned): not trained again", None),
    ("completed 20 epochs", None),
    (None, None),
])
def test_the_pruned_epoch_is_read_from_the_stop_reason(stop_reason, epoch):
    assert TrialRecord(0, "PRUNED", None, {}, History(), stop_reason=stop_reason).pruned_epoch \
        == epoch


@pytest.mark.parametrize("stop_reason, among", [
    ("pruned at epoch 6 by MedianPruner among the convlstm trials", "convlstm"),
    ("pruned at epoch 6 by MedianPruner", None),
    ("completed 20 epochs among the c3d trials", None),  # not pruned
])
def test_the_architecture_pruned_within_is_read_from_the_stop_reason(stop_reason, among):
    assert TrialRecord(0, "PRUNED", None, {}, History(), stop_reason=stop_reason).pruned_among \
        == among


def test_a_trial_pruned_within_its_architecture_is_compared_with_that_architecture_only():
    """The pruner judged a slow ConvLSTM against ConvLSTMs: the diagnosis quotes those, not the
    fast C3D trials."""
    records = [record(0, [0.6, 0.8, 0.9], "completed 3 epochs", "c3d"),
               record(1, [0.1, 0.3, 0.5], "completed 3 epochs", "convlstm"),
               record(2, [0.05, 0.1], "pruned at epoch 2 by MedianPruner among the convlstm trials",
                      "convlstm"),
               record(3, [0.7, 0.85], "pruned at epoch 2 by MedianPruner among the c3d trials",
                      "c3d")]
    assert Pruned.among(records[2], records) == Pruned(2, "val_macro_f1", True, (0.3,), "convlstm")
    d = diagnosed(records)[2].diagnosis
    assert "0.2000 behind the median of the 1 other convlstm trial there (0.3000)" in d.because()


def test_a_stored_study_compares_each_pruned_trial_with_the_others_at_its_epoch():
    records = [record(0, [0.3, 0.5, 0.7, 0.8], "completed 4 epochs"),
               record(1, [0.2, 0.3], "pruned at epoch 2 by MedianPruner"),
               record(2, [0.4, 0.6, 0.7], "completed 3 epochs")]
    pruned = Pruned.among(records[1], records)
    assert pruned == Pruned(2, "val_macro_f1", True, (0.5, 0.6))
    d = diagnosed(records)[1].diagnosis
    assert d.label_text == "pruned" and "0.2500 behind the median of the 2 other trials" in d.because()
    assert Pruned.among(records[0], records) is None
