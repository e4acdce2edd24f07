"""Writing plateau's knowledge into a study where optuna-dashboard shows it.

As a trial ends (``publish_trial``, given the live ``optuna.Trial``): its diagnosis as filterable user
attributes, its note, and its history as a CSV artifact. When a run ends, or on
``run_study.py diagnose --storage ... --study ... --update-dashboard`` (``publish_study``): the study
note and figures, and for a study made before this feature also every trial's note (notes live in
the study's system attributes, so a finished trial can still get one; user attributes and artifacts
of a finished trial cannot be changed in Optuna, so those stay as they were).
"""

from __future__ import annotations

import csv
import tempfile
import warnings
from pathlib import Path

import optuna
import optuna_dashboard
from optuna.artifacts import FileSystemArtifactStore, upload_artifact

from diagnose.dashboard.attrs import trial_attrs
from diagnose.dashboard.figures import study_figures
from diagnose.dashboard.notes import study_note, trial_note
from diagnose.dashboard.trials import diagnosed_trials
from diagnose.diagnosis import diagnose
from diagnose.findings import Diagnosis
from search.history import History


def history_csv(history: History, path: Path) -> Path:
    """The epoch rows as CSV, columns as stored (empty cell: not measured; nan/inf as written)."""
    columns = history.rows_to_json()["columns"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in history.rows:
            writer.writerow(["" if row.get(c) is None else repr(row[c]) for c in columns])
    return path


def publish_trial(trial: optuna.Trial, history: History, artifact_dir: Path | None) -> Diagnosis:
    """Diagnose a trial that is about to end and write its attributes, note and CSV artifact."""
    diagnosis = diagnose(history)
    for key, value in trial_attrs(history, diagnosis).items():
        trial.set_user_attr(key, value)
    optuna_dashboard.save_note(trial, trial_note(trial.number, history, diagnosis))
    if artifact_dir is not None:
        artifact_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            path = history_csv(history, Path(folder) / f"trial-{trial.number}-history.csv")
            upload_artifact(artifact_store=FileSystemArtifactStore(artifact_dir),
                            file_path=str(path), study_or_trial=trial, mimetype="text/csv")
    return diagnosis


def publish_study(study: optuna.Study, storage_url: str, *,
                  trial_notes: bool = False) -> tuple[int, int]:
    """Write the study note and figures (and, with ``trial_notes``, every trial's note). Returns
    (trial notes written, figures written)."""
    pairs = list(diagnosed_trials(study))
    trials = [trial for _, trial in pairs]
    if trial_notes:
        for frozen, stored in pairs:
            live = optuna.Trial(study, frozen._trial_id)  # a note needs a Trial, not a FrozenTrial
            optuna_dashboard.save_note(live, trial_note(stored.number, stored.history,
                                                        stored.diagnosis))
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    try:
        best_number = study.best_trial.number
    except ValueError:  # no completed trial
        best_number = None
    best = next((t for t in trials if t.number == best_number), None)
    metric = (study.metric_names or ["value"])[0]
    config = study.user_attrs.get("config")
    optuna_dashboard.save_note(study, study_note(study.study_name, trials, best, metric, config,
                                                 storage_url))
    figures = study_figures(study, trials, maximize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotly/optuna "experimental" warnings
        for figure_id, figure in figures.items():
            optuna_dashboard.save_plotly_graph_object(study, figure, graph_object_id=figure_id)
    return (len(pairs) if trial_notes else 0), len(figures)
