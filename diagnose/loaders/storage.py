"""Trials of a stored Optuna study, each with the history plateau's training loop stored with it.

Trials run by plateau carry their history as user attributes (``History.to_user_attrs``). Trials run
by anything else have at most the objective per step (intermediate values); they become a one-column
history when the study's metric name is a plateau column, else an empty history whose facts say why.
``optuna`` is imported inside ``load_trials`` only: reading a log file never pays for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.errors import LogError
from search.history import COLUMNS, History, objective_column

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial


@dataclass(frozen=True)
class StoredRun:
    """One trial: its number, state name (COMPLETE, PRUNED, FAIL, ...), value, params and history."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    history: History


def load_trials(storage: str, study_name: str, trial: int | None = None) -> list[StoredRun]:
    """Every trial of the study (or only trial number ``trial``), ordered by number."""
    import optuna

    from search.storage import open_storage

    require_file(storage)
    opened = open_storage(storage)
    try:
        study_id = opened.get_study_id_from_name(study_name)
    except KeyError:
        names = ", ".join(optuna.study.get_all_study_names(opened)) or "none"
        raise LogError(f"storage '{storage}': no study named '{study_name}' (studies there: {names}); "
                       f"give one of those names.") from None
    study = optuna.load_study(study_name=study_name, storage=opened)
    metric = _metric_column(study.metric_names)
    if trial is None:
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        if not trials:
            raise LogError(f"storage '{storage}': study '{study_name}' has no trials yet; run it "
                           f"first.")
    else:
        try:
            trials = [opened.get_trial(opened.get_trial_id_from_study_id_trial_number(study_id, trial))]
        except KeyError:
            count = opened.get_n_trials(study_id)
            numbers = f"its trials are numbered 0..{count - 1}" if count else "it has no trials yet"
            raise LogError(f"storage '{storage}': study '{study_name}' has no trial {trial}; "
                           f"{numbers}.") from None
    runs = [_run(t, metric, storage) for t in trials]
    if all("skipped" in run.history.facts for run in runs):  # nothing to diagnose
        which = (f"trial {trial} of study '{study_name}' has no" if trial is not None
                 else f"no trial of study '{study_name}' has a")
        raise LogError(f"storage '{storage}': {which} plateau history: "
                       f"{runs[0].history.facts['skipped']}; diagnose a study run by plateau, or "
                       f"report a plateau column (e.g. val_loss) per epoch with trial.report.")
    return runs


def require_file(storage: str) -> None:
    """A reader must not create the storage it was asked to read (SQLite and journal files would be)."""
    path = storage.removeprefix("sqlite:///").split("?")[0] if storage.startswith("sqlite:///") else (
        storage if "://" not in storage else None)
    if path is not None and path != ":memory:" and not Path(path).exists():
        raise LogError(f"storage '{storage}': file '{path}' does not exist; give the storage the study "
                       f"was run with (e.g. sqlite:///plateau.db).")


def _metric_column(metric_names: list[str] | None) -> str | None:
    """The plateau column the study's objective is, if it is one ("val macro-F1", ``val_macro_f1`` or
    ``macro_f1``)."""
    if not metric_names or len(metric_names) != 1:
        return None
    name = metric_names[0]
    if objective_column(name) is not None:  # what plateau stores: "val macro-F1" (or the column)
        return objective_column(name)
    return next((c for c in (name, f"val_{name}") if c in COLUMNS and c != "epoch"), None)


def _run(trial: FrozenTrial, metric: str | None, storage: str) -> StoredRun:
    values = trial.values
    return StoredRun(number=trial.number, state=trial.state.name,
                     value=values[0] if values is not None and len(values) == 1 else None,
                     params=dict(trial.params), history=_history(trial, metric, storage))


def _history(trial: FrozenTrial, metric: str | None, storage: str) -> History:
    """The plateau history of ``trial``, else one built from its intermediate values."""
    if "history" in trial.user_attrs:
        try:
            return History.from_user_attrs(trial.user_attrs)
        except (ValueError, KeyError, TypeError) as exc:
            raise LogError(f"storage '{storage}', trial {trial.number}: cannot read its history "
                           f"({exc}); upgrade plateau or re-run the trial.") from None
    steps = sorted(trial.intermediate_values)
    if metric is None or not steps:
        reason = ("it reported no intermediate values" if not steps else
                  "the study's metric name is not a plateau column such as val_loss "
                  "(study.set_metric_names)")
        return History(facts={"skipped": f"not run by plateau and {reason}"})
    shift = 1 if steps[0] == 0 else 0  # plateau's epochs are 1-based; plain loops often count from 0
    rows: list[dict[str, float | None]] = [
        {"epoch": step + shift, metric: float(trial.intermediate_values[step])} for step in steps]
    return History(rows=rows, facts={"epochs_from": "intermediate values", "objective": metric})
