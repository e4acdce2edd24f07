"""Writing plateau's knowledge into a study where optuna-dashboard shows it.

As a trial ends (``publish_trial``, given the live ``optuna.Trial`` and its diagnosed record, before the
record is stored): its note and its history as a CSV artifact; the record's own writer stores the
filterable attributes. When a run ends, or on ``run_study.py diagnose --storage ... --study ...
--update-dashboard`` (``publish_study``): the study note and figures, and for a study made before this
feature also every trial's note (notes live in the study's system attributes, so a finished trial can
still get one; user attributes and artifacts of a finished trial cannot be changed in Optuna, so those
stay as they were).
"""

from __future__ import annotations

import csv
import tempfile
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

import optuna
import optuna_dashboard
from optuna.artifacts import FileSystemArtifactStore, upload_artifact
from optuna.storages import RDBStorage
from optuna_dashboard import _custom_plot_data

from diagnose.dashboard.figures import RETIRED_FIGURE_IDS, study_figures
from diagnose.dashboard.notes import study_note, trial_note
from diagnose.overview import explores, with_explored
from search.record.history import History
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord, ranked


# Study user attributes where a command keeps what it wrote for the study note, so that every later
# publish keeps it too: a fix study's before/after (``run_study.py fix``: markdown lines, shown after
# the counts) and the last ensemble of the best trials (``run_study.py ensemble``: {"note": markdown},
# shown at the end).
LIFT_NOTE = "lift_note"
LIFT = "lift"  # and the numbers the before/after judged (``diagnose.lift.Lift.to_json``)
ENSEMBLE = "ensemble"


def kept_ensemble(attrs: Mapping[str, Any]) -> str:
    """The ensemble section kept in the study's ``attrs``, to end the note with ("" if none)."""
    stored = attrs.get(ENSEMBLE)
    note = stored.get("note") if isinstance(stored, Mapping) else None
    return f"\n{note.rstrip()}\n" if isinstance(note, str) and note.strip() else ""


def history_csv(history: History, path: Path) -> Path:
    """The epoch rows as CSV, columns as stored (empty cell: not measured; nan/inf as written).
    Written with the csv module, not pandas: a DataFrame cannot tell a logged NaN from a missing
    value, and a diverged run's NaN is evidence."""
    columns = history.columns()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in history.rows:
            writer.writerow(["" if row.get(c) is None else repr(row[c]) for c in columns])
    return path


def publish_trial(trial: optuna.Trial, record: TrialRecord, artifact_dir: Path | None) -> None:
    """Write the note and the CSV artifact of a diagnosed trial that is about to end (a trial that
    failed before its first epoch has nothing to show)."""
    if not record.history.rows:
        return
    optuna_dashboard.save_note(trial, trial_note(record))
    if artifact_dir is not None:
        artifact_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as folder:
            path = history_csv(record.history, Path(folder) / f"trial-{record.number}-history.csv")
            upload_artifact(artifact_store=FileSystemArtifactStore(artifact_dir),
                            file_path=str(path), study_or_trial=trial, mimetype="text/csv")


def publish_study(study: optuna.Study, records: Sequence[TrialRecord], storage: StorageUrl, *,
                  trial_notes: bool = False) -> tuple[int, int]:
    """Write the study note and figures from the study's diagnosed ``records``, and the notes of the
    trials with a fix the study already explored (their note now says how the study's trials that
    tried it did); with ``trial_notes``, every plateau trial's note. Returns (trial notes written,
    figures written)."""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    metric = (study.metric_names or ["value"])[0]
    plateau = [r for r in records if r.skipped is None]  # trials plateau ran (they have a history)
    plateau = with_explored(plateau, maximize, metric)
    rewritten = [r for r in plateau if trial_notes or explores(r)]
    for record in rewritten:
        live = optuna.Trial(study, record.trial_id)  # a note needs a Trial, not a FrozenTrial
        optuna_dashboard.save_note(live, trial_note(record))
    best = next(iter(ranked(plateau, maximize)), None)
    optuna_dashboard.save_note(study, study_note(study.study_name, plateau, best, metric,
                                                 study.user_attrs.get("config"), storage,
                                                 maximize, study.user_attrs.get(LIFT_NOTE, ()))
                               + kept_ensemble(study.user_attrs))
    figures = study_figures(plateau, maximize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # plotly/optuna "experimental" warnings
        for figure_id, figure in figures.items():
            optuna_dashboard.save_plotly_graph_object(study, figure, graph_object_id=figure_id)
    for figure_id in RETIRED_FIGURE_IDS:
        drop_figure(study, figure_id)
    return len(rewritten), len(figures)


def drop_figure(study: optuna.Study, figure_id: str) -> bool:
    """Delete a figure that an older plateau published and this one no longer does, where the
    storage allows it. Optuna has no call that deletes a study's system attribute, so an RDB
    storage's rows are deleted with SQL; a journal storage (append-only) keeps it. Returns whether
    there was one to delete and it was deleted."""
    prefix = f"{_custom_plot_data.SYSTEM_ATTR_PLOT_DATA}{figure_id}:"
    attrs = study._storage.get_study_system_attrs(study._study_id)
    keys = [key for key in attrs if key.startswith(prefix)]
    backend = getattr(study._storage, "_backend", study._storage)
    if not keys or not isinstance(backend, RDBStorage):
        return False
    from optuna.storages._rdb.models import StudySystemAttributeModel
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(backend.scoped_session) as session:
        session.query(StudySystemAttributeModel).filter(
            StudySystemAttributeModel.study_id == study._study_id,
            StudySystemAttributeModel.key.in_(keys)).delete(synchronize_session=False)
    return True
