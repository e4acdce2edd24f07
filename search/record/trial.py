"""``TrialRecord``: everything a plateau trial stores in its Optuna trial, with one writer and one reader.

Stored as trial user attributes, all plain JSON (the README lists them). While the trial runs, the
objective writes ``start_attrs`` (its hyperparameters) and, after every epoch, ``epoch_attrs`` (the
history so far), so a pruned, failed or interrupted trial keeps what it ran; as it ends, the whole
record (``TrialRecord.user_attrs``): results, stop reason, error, diagnosis and the scalar attributes
optuna-dashboard filters and sorts on. ``from_frozen_trial`` reads any trial back, plateau's or not;
the storage loader, the dashboard, the summaries, the table and the report all read trials through it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from search.record.diagnosis import DIAGNOSIS_FORMAT, Diagnosis
from search.record.errors import LogError
from search.record.history import COLUMNS, History, LogSource, PerClass, objective_column
from search.record.measures import best_index, end_value, generalization_gap, shown

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

# The columns whose end value is published as ``final_<column>`` (where the curve ends, as the rules
# judge it: ``measures.end_value``).
FINAL_COLUMNS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "val_macro_f1")

# How the stop reason of a trial the pruner stopped starts: "pruned at epoch 3 by HyperbandPruner";
# and of one the plateau rule stopped: "stopped on plateau at epoch 12: ...". A pruner that compared
# the trial only with trials of its architecture (``search.fair_pruner``) ends the reason with
# ``PRUNED_AMONG``: "pruned at epoch 6 by MedianPruner among the c3d trials".
PRUNED_AT = "pruned at epoch"
PLATEAU_STOP = "stopped on plateau"
PRUNED_AMONG = "among the {} trials"

# The user attribute of a trial enqueued with its hyperparameters pinned (``run_study.py fix``
# re-measures a baseline so): {"hparams": {...}, "max_epochs": N, "replicate": k}. It trains with
# those whatever the space samples, and is never a repeat of another trial (another seed, on purpose).
PINNED = "pinned"

# Run facts stored under their own names, as the README's attribute table lists them.
_FACTS = ("hparams", "objective", "direction", "best_epoch", "stop_reason", "param_count",
          "param_counts", "class_counts", "device", "worker", "test", "error", "traceback")


@dataclass(frozen=True)
class TrialRecord:
    number: int
    state: str  # Optuna's TrialState name: COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    value: float | None  # the objective, when the trial has a finite one
    params: Mapping[str, Any]  # what Optuna sampled
    history: History
    hparams: Mapping[str, Any] = field(default_factory=dict)  # every resolved one, searched or fixed
    objective: str | None = None  # the history column the study optimises
    direction: str | None = None  # "maximize" or "minimize"
    best_epoch: int | None = None  # the epoch the value and the per-class results come from
    stop_reason: str | None = None  # "completed 20 epochs", "pruned at epoch 3 by ...", ...
    param_count: int | None = None  # trainable parameters
    param_counts: Mapping[str, int] | None = None  # by part: {"total"} or {"cnn", "attention", ...}
    class_counts: Mapping[str, list[int]] | None = None  # examples per class in train/val/test
    device: str | None = None
    worker: str | None = None  # "host:pid" of the process that ran it (its last attempt)
    test: Mapping[str, float] | None = None  # the test split scored with the best epoch's weights
    error: str | None = None  # the exception's one-line message, when the trial raised
    traceback: str | None = None
    diagnosis: Diagnosis | None = None  # stored as the trial ended (None: stored before that existed)
    skipped: str | None = None  # why there is nothing to diagnose (a trial plateau did not run)
    trial_id: int | None = None  # Optuna's id of the trial in its storage (not a user attribute)

    @property
    def epochs_run(self) -> int:
        return len(self.history.rows)

    @property
    def pruned_epoch(self) -> int | None:
        """The epoch after which the pruner stopped this trial (None: it did not)."""
        match = re.match(rf"{PRUNED_AT} (\d+)\b", self.stop_reason or "")
        return int(match.group(1)) if match else None

    @property
    def pruned_among(self) -> str | None:
        """The architecture whose trials alone the pruner compared this one with (None: all, or
        it was not pruned)."""
        among = re.escape(PRUNED_AMONG).replace(re.escape("{}"), r"(\S+)")
        match = re.search(rf"{among}$", self.stop_reason or "") if self.pruned_epoch else None
        return match.group(1) if match else None

    # --- the writer --------------------------------------------------------------------------------

    def user_attrs(self) -> dict[str, Any]:
        """The whole record as trial user attributes (plain JSON; None fields left out)."""
        attrs: dict[str, Any] = {"history": self.history.rows_to_json(),
                                 "epochs_run": self.epochs_run}
        if self.history.per_class is not None:
            attrs["per_class"] = self.history.per_class.to_json()
        for name in _FACTS:
            value = getattr(self, name)
            if value is not None:
                attrs[name] = dict(value) if isinstance(value, Mapping) else value
        return attrs | self.published_attrs()

    def published_attrs(self) -> dict[str, Any]:
        """The scalar attributes optuna-dashboard filters and sorts on: ``diagnosis`` (the labels),
        ``final_<column>`` (where each curve ends) and ``generalization_gap``, measured as the rules
        measure them; non-finite numbers are left out (JSON has none)."""
        attrs: dict[str, Any] = {}
        if self.diagnosis is not None:
            attrs["diagnosis"] = self.diagnosis.label_text
            attrs["diagnosis_detail"] = {"format": DIAGNOSIS_FORMAT, **self.diagnosis.to_json()}
        for column in FINAL_COLUMNS:
            value = shown(end_value(self.history.column(column)))
            if value is not None:
                attrs[f"final_{column}"] = value
        gap = shown(generalization_gap(self.history))
        if gap is not None:
            attrs["generalization_gap"] = gap
        return attrs

    # --- the reader --------------------------------------------------------------------------------

    @classmethod
    def from_frozen_trial(cls, trial: FrozenTrial, metric: str | None = None) -> TrialRecord:
        """The record of a stored trial. A trial plateau did not run gets a history of its
        intermediate values when ``metric`` (the study's objective) is a history column, else an
        empty one with the reason in ``skipped``. An unreadable record is a one-line LogError."""
        values = trial.values
        value = values[0] if values is not None and len(values) == 1 else None
        common = {"number": trial.number, "state": trial.state.name, "params": dict(trial.params),
                  "value": value if value is not None and math.isfinite(value) else None,
                  "trial_id": trial._trial_id}  # private in Optuna; optuna-dashboard reads it too
        attrs = trial.user_attrs
        if "history" not in attrs:
            return cls(**common, **_from_intermediate_values(trial, metric))
        try:
            history = History(History.rows_from_json(attrs["history"]),
                              PerClass.from_json(attrs["per_class"]) if "per_class" in attrs
                              else None)
            if trial.state.name == "PRUNED":  # Optuna keeps the last report; one value per trial
                best = _best_epoch_value(history, attrs)
                common["value"] = best if best is not None else common["value"]
            return cls(**common, history=history, diagnosis=_stored_diagnosis(attrs),
                       **{name: attrs[name] for name in _FACTS if name in attrs})
        except (ValueError, KeyError, TypeError) as exc:
            raise LogError(f"trial {trial.number}: cannot read what plateau stored ({exc}); "
                           f"upgrade plateau or re-run the trial.") from None


def study_records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of ``study`` as a record, by number: the study's trials read once."""
    metric = metric_column(study.metric_names)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    return [TrialRecord.from_frozen_trial(trial, metric) for trial in trials]


def ranked(records: list[TrialRecord], maximize: bool) -> list[TrialRecord]:
    """The completed trials with a value, best first (the first is Optuna's ``best_trial``)."""
    valued = [r for r in records
              if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)]
    return sorted(valued, key=lambda r: -r.value if maximize else r.value)


def metric_column(metric_names: list[str] | None) -> str | None:
    """The history column a single-objective study optimises, if it is one: plateau's name for it
    ("val macro-F1"), the column itself (``val_loss``), or the column without ``val_``
    (``macro_f1``)."""
    if not metric_names or len(metric_names) != 1:
        return None
    name = metric_names[0]
    if objective_column(name) is not None:
        return objective_column(name)
    return next((c for c in (name, f"val_{name}") if c in COLUMNS and c != "epoch"), None)


def start_attrs(hparams: Mapping[str, Any], worker: str) -> dict[str, Any]:
    """What a trial stores as it starts: every resolved hyperparameter, and which worker (host and
    process) runs it."""
    return {"hparams": dict(hparams), "worker": worker}


def epoch_attrs(history: History) -> dict[str, Any]:
    """What a trial stores after every epoch: its history so far."""
    return {"history": history.rows_to_json()}


def _best_epoch_value(history: History, attrs: Mapping[str, Any]) -> float | None:
    """The objective at the trial's best epoch, the value every view shows for a trial (a pruned
    trial's Optuna value is its last report instead)."""
    column, direction = attrs.get("objective"), attrs.get("direction")
    if column is None or direction not in ("maximize", "minimize"):
        return None
    index = best_index(history.column(column), maximize=direction == "maximize")
    return history.column(column)[index] if index is not None else None


def _stored_diagnosis(attrs: Mapping[str, Any]) -> Diagnosis | None:
    """The diagnosis stored as the trial ended; None if there is none in this format."""
    stored = attrs.get("diagnosis_detail")
    if not isinstance(stored, Mapping) or stored.get("format") != DIAGNOSIS_FORMAT:
        return None
    return Diagnosis.from_json(stored)


def _from_intermediate_values(trial: FrozenTrial, metric: str | None) -> dict[str, Any]:
    steps = sorted(trial.intermediate_values)
    if metric is None or not steps:
        reason = ("it reported no intermediate values" if not steps else
                  "the study's metric name is not a plateau column such as val_loss "
                  "(study.set_metric_names)")
        return {"history": History(), "skipped": f"not run by plateau and {reason}"}
    shift = 1 if steps[0] == 0 else 0  # plateau's epochs are 1-based; plain loops often count from 0
    rows: list[dict[str, float | None]] = [
        {"epoch": step + shift, metric: float(trial.intermediate_values[step])} for step in steps]
    source = LogSource(f"trial {trial.number}", "optuna", epochs_from="intermediate values")
    return {"history": History(rows, source=source), "objective": metric}
