"""``TrialRecord``: one writer, one reader, through a real Optuna study: every field survives, the
published attributes are the measures' numbers, and any trial (plateau's or not) reads back."""

from __future__ import annotations

import json
import math

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.record.diagnosis import Change, Diagnosis, Finding, Fix
from search.record.errors import LogError
from search.record.history import History, PerClass
from search.record.measures import end_value, generalization_gap, shown
from search.record.trial import (FINAL_COLUMNS, TrialRecord, epoch_attrs, metric_column, ranked,
                                 start_attrs, study_records)

NAN, INF = math.nan, math.inf
DIAGNOSIS = Diagnosis(
    ("overfit",),
    (Finding("overfit", 0.8123, "training accuracy ends 0.2 above validation",
             {"accuracy_gap": 0.2, "validation_stopped_improving": True},
             (Fix("dropout", "why", (Change("set", "space.dropout", {"low": 0.3, "high": 0.6}),)),),
             (4, 6)),),
    (Finding("early_optimum", 0.6, "best at epoch 3", {"best_epoch": 3}, (), (3,)),),
    {"imbalanced": "needs per-class results"})


def _history() -> History:
    rows = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5 + e / 10,
             "val_loss": 1.2 / e, "val_accuracy": 0.5 + e / 20, "val_macro_f1": 0.4 + e / 20}
            for e in range(1, 6)]
    rows.append({"epoch": 6, "train_loss": NAN, "lr": 0.01})
    per_class = PerClass(["a", "b"], [0.5, 0.75], [0.6, 0.7], [0.55, 0.72], [10, 12],
                         [[6, 4], [3, 9]], [40, 48], 5)
    return History(rows, per_class)


def record(**changes) -> TrialRecord:
    fields = dict(number=0, state="COMPLETE", value=0.65, params={"lr": 0.01}, history=_history(),
                  hparams={"architecture": "c3d", "lr": 0.01, "c3d.width": 8},
                  objective="val_macro_f1", direction="maximize", best_epoch=5,
                  stop_reason="completed 6 epochs", param_count=1234,
                  param_counts={"cnn": 1000, "head": 234}, class_counts={"train": [40, 48]},
                  device="cpu (2 threads)", worker="host:123", test={"loss": 0.9, "accuracy": 0.7},
                  diagnosis=DIAGNOSIS)
    return TrialRecord(**{**fields, **changes})


def stored(*trials: optuna.trial.FrozenTrial, metric: str | None = None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    if metric is not None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([metric])
    study.add_trials(list(trials))
    return study


def frozen(attrs: dict, value: float | None = 0.65, state: str = "COMPLETE",
           intermediate: dict | None = None) -> optuna.trial.FrozenTrial:
    return create_trial(state=TrialState[state], value=value, params={"lr": 0.01},
                        distributions={"lr": FloatDistribution(1e-4, 1.0)}, user_attrs=attrs,
                        intermediate_values=intermediate or {})


def test_every_field_survives_the_storage():
    original = record()
    attrs = json.loads(json.dumps(original.user_attrs(), allow_nan=False))  # strict JSON
    (back,) = study_records(stored(frozen(attrs)))
    assert back.history.rows_to_json() == original.history.rows_to_json()  # NaN included
    assert back.history.per_class == original.history.per_class
    assert back.diagnosis == original.diagnosis  # typed, fixes and changes included
    for name in ("number", "state", "value", "params", "hparams", "objective", "direction",
                 "best_epoch", "stop_reason", "param_count", "param_counts", "class_counts",
                 "device", "worker", "test", "error", "traceback", "skipped"):
        assert getattr(back, name) == getattr(original, name), name
    assert back.epochs_run == 6 and back.trial_id is not None


def test_published_attributes_are_the_measures_numbers_and_plain_json():
    original = record()
    attrs = original.user_attrs()
    assert attrs["diagnosis"] == "overfit"
    for column in FINAL_COLUMNS:
        assert attrs[f"final_{column}"] == shown(end_value(original.history.column(column)))
    assert attrs["final_train_loss"] == pytest.approx(1 / 4)  # median of the last 3 finite: 1/3..1/5
    assert attrs["generalization_gap"] == shown(generalization_gap(original.history))
    assert attrs["epochs_run"] == 6 and attrs["stop_reason"] == "completed 6 epochs"
    json.dumps(attrs, allow_nan=False)


def test_what_cannot_be_measured_or_was_not_given_is_left_out():
    bare = TrialRecord(3, "FAIL", None, {}, History([{"epoch": 1, "train_loss": NAN}]),
                       stop_reason="diverged at epoch 1: training loss is nan")
    attrs = bare.user_attrs()
    assert set(attrs) == {"history", "epochs_run", "stop_reason", "hparams"}
    assert TrialRecord(0, "FAIL", None, {}, History()).user_attrs() == {
        "history": {"format": 1, "columns": [], "rows": []}, "epochs_run": 0, "hparams": {}}


def test_the_attributes_written_while_a_trial_runs():
    assert start_attrs({"lr": 0.1}, "gpu-node-3:4127") == {"hparams": {"lr": 0.1},
                                                           "worker": "gpu-node-3:4127"}
    history = _history()
    assert epoch_attrs(history) == {"history": history.rows_to_json()}
    assert set(epoch_attrs(history)) <= set(record().user_attrs())  # parts of the one record


@pytest.mark.parametrize("detail", [None, {"format": 99, "labels": []}, "overfit"],
                         ids=["none (stored before diagnoses were)", "another format", "not a mapping"])
def test_a_trial_without_a_readable_stored_diagnosis_has_none(detail):
    attrs = record(diagnosis=None).user_attrs() | {"diagnosis": "overfit"}
    if detail is not None:
        attrs["diagnosis_detail"] = detail
    (back,) = study_records(stored(frozen(attrs)))
    assert back.diagnosis is None


def test_a_damaged_record_is_one_line_naming_the_trial():
    attrs = record().user_attrs()
    attrs["history"] = {"format": 1, "columns": ["epoch"]}  # no rows
    with pytest.raises(LogError) as info:
        study_records(stored(frozen(attrs)))
    assert str(info.value).startswith("trial 0: cannot read what plateau stored")
    assert "\n" not in str(info.value)


def test_a_trial_plateau_did_not_run_reads_as_its_intermediate_values():
    plain = frozen({}, value=0.5, intermediate={0: 0.3, 1: 0.4, 2: 0.5})
    (back,) = study_records(stored(plain, metric="val_macro_f1"))
    assert back.history.rows == [{"epoch": 1, "val_macro_f1": 0.3}, {"epoch": 2, "val_macro_f1": 0.4},
                                 {"epoch": 3, "val_macro_f1": 0.5}]
    assert back.history.source.epochs_from == "intermediate values"
    assert back.skipped is None and back.objective == "val_macro_f1"


@pytest.mark.parametrize("metric, intermediate, reason", [
    (None, {1: 0.5}, "metric name is not a plateau column"),
    ("val_macro_f1", {}, "no intermediate values"),
], ids=["unknown metric", "nothing reported"])
def test_a_trial_with_nothing_to_read_says_why(metric, intermediate, reason):
    (back,) = study_records(stored(frozen({}, intermediate=intermediate), metric=metric))
    assert back.history.rows == [] and reason in back.skipped


@pytest.mark.parametrize("names, column", [
    (["val macro-F1"], "val_macro_f1"), (["val_loss"], "val_loss"), (["macro_f1"], "val_macro_f1"),
    (["val accuracy"], "val_accuracy"), (["Objective 0"], None), (None, None),
    (["val_loss", "val_accuracy"], None), (["epoch"], None)])
def test_metric_column(names, column):
    assert metric_column(names) == column


def test_ranked_keeps_completed_trials_with_a_value_best_first():
    records = [record(number=0, value=0.3), record(number=1, value=None, state="PRUNED"),
               record(number=2, value=0.9), record(number=3, value=0.5, state="FAIL"),
               record(number=4, value=0.9)]
    assert [r.number for r in ranked(records, maximize=True)] == [2, 4, 0]
    assert [r.number for r in ranked(records, maximize=False)] == [0, 2, 4]


def test_a_non_finite_value_is_no_value():
    (back,) = study_records(stored(frozen(record().user_attrs(), value=INF)))
    assert back.value is None


def test_columns_a_history_lacks_are_left_out_of_the_published_attributes():
    losses_only = History([{"epoch": e, "train_loss": 2.0 / e, "val_loss": 2.1 / e} for e in (1, 2, 3)])
    published = TrialRecord(0, "COMPLETE", 0.5, {}, losses_only).published_attrs()
    assert set(published) == {"final_train_loss", "final_val_loss"}


@pytest.mark.parametrize("direction, values, shown_value", [
    ("maximize", [0.3, 0.5, 0.4], 0.5),
    ("minimize", [0.9, 0.6, 0.7], 0.6),
    ("maximize", [0.0, 0.0, 0.0], 0.0),
])
def test_a_pruned_trial_is_valued_at_its_best_epoch_as_every_trial_is(direction, values, shown_value):
    """Optuna stores a pruned trial's last report as its value; plateau shows one value per trial
    everywhere, the best epoch's objective."""
    rows = [{"epoch": i + 1, "val_macro_f1": v} for i, v in enumerate(values)]
    trial = create_trial(state=TrialState.PRUNED, value=values[-1],
                         intermediate_values={i + 1: v for i, v in enumerate(values)},
                         user_attrs={"history": History(rows).rows_to_json(),
                                     "objective": "val_macro_f1", "direction": direction,
                                     "stop_reason": "pruned at epoch 3 by MedianPruner"})
    assert TrialRecord.from_frozen_trial(trial).value == shown_value
    completed = create_trial(state=TrialState.COMPLETE, value=0.1, user_attrs=trial.user_attrs)
    assert TrialRecord.from_frozen_trial(completed).value == 0.1  # what the trial returned
