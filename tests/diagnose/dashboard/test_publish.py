"""Publishing into a real SQLite study: what a run writes as trials end, and what
``diagnose --update-dashboard`` adds to a study made before this feature."""

from __future__ import annotations

import csv
import json

import optuna
import optuna_dashboard
import plotly.graph_objects as go
import yaml
from optuna.artifacts import FileSystemArtifactStore, download_artifact, get_all_artifact_meta
from optuna_dashboard._custom_plot_data import list_graph_object_ids  # as the dashboard reads them

import run_study
from diagnose.dashboard.figures import FIGURE_IDS
from diagnose.dashboard.publish import drop_figure, history_csv
from diagnose.diagnosis import diagnose
from search import study as study_module
from search.config import load_study_config
from search.progress import Progress
from search.record.history import History
from search.record.trial import TrialRecord
from tiny import SIX_TRIALS, TINY_STUDY, Replace, deep_update, raise_after_first_epoch


def test_history_csv_keeps_every_column_and_marks_missing_values(tmp_path):
    history = History(rows=[{"epoch": 1, "train_loss": 2.0, "val_loss": float("nan")},
                            {"epoch": 2, "train_loss": 1.5}])
    with history_csv(history, tmp_path / "h.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows == [["epoch", "train_loss", "val_loss"], ["1", "2.0", "nan"], ["2", "1.5", ""]]


def test_a_run_writes_each_trials_note_attributes_and_artifact(finished_study):
    url, artifacts = finished_study
    study = optuna.load_study(study_name="tiny", storage=url)
    assert study.user_attrs["artifact_dir"] == str(artifacts.resolve())
    for trial in study.trials:
        live = optuna.Trial(study, trial._trial_id)
        assert optuna_dashboard.get_note(live).startswith(
            f"## Trial {trial.number}: {trial.user_attrs['diagnosis']}")
        (meta,) = get_all_artifact_meta(trial, storage=study._storage)
        download = artifacts.parent / f"download-{trial.number}.csv"
        download_artifact(artifact_store=FileSystemArtifactStore(artifacts), file_path=str(download),
                          artifact_id=meta.artifact_id)
        rows = list(csv.DictReader(download.open()))
        history = TrialRecord.from_frozen_trial(trial).history
        assert [float(r["val_macro_f1"]) for r in rows] == history.column("val_macro_f1")
    assert optuna_dashboard.get_note(study).startswith("# Study tiny")


def test_the_gap_a_real_run_publishes_is_the_one_its_stored_diagnosis_judged(finished_study):
    url, _ = finished_study
    judged = 0
    for trial in optuna.load_study(study_name="tiny", storage=url).trials:
        record = TrialRecord.from_frozen_trial(trial)
        for finding in record.diagnosis.findings:
            if "accuracy_gap" in finding.evidence:
                assert trial.user_attrs["generalization_gap"] == finding.evidence["accuracy_gap"]
                judged += 1
    assert judged > 0  # the tiny study's trials are judged on their gap (underfit, at least)


def test_update_dashboard_adds_notes_and_figures_to_a_study_made_without_them(tmp_path, capsys):
    # A study as plateau wrote it before this feature: the runner without the command line's hooks
    # stores histories, but no diagnosis, no notes, no figures.
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(SIX_TRIALS))))
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = load_study_config(path, {"storage": url})
    study_module.run(config, Progress(config.budget.n_trials))
    study = optuna.load_study(study_name="old", storage=url)
    first = optuna.Trial(study, study.trials[0]._trial_id)
    assert optuna_dashboard.get_note(first) == "" and optuna_dashboard.get_note(study) == ""
    assert all("diagnosis" not in t.user_attrs for t in study.trials)
    # the importance figure older plateau versions published (optuna-dashboard draws its own)
    optuna_dashboard.save_plotly_graph_object(study, go.Figure(go.Bar(x=[1], y=["lr"])),
                                              graph_object_id="importance")

    capsys.readouterr()
    assert run_study.main(["diagnose", "--storage", url, "--study", "old",
                           "--update-dashboard"]) == 0
    out = capsys.readouterr().out
    assert "dashboard: wrote the study note, 6 trial notes and" in out
    for trial in study.trials:
        labels = diagnose(TrialRecord.from_frozen_trial(trial).history).labels
        note = optuna_dashboard.get_note(optuna.Trial(study, trial._trial_id))
        assert note.startswith(f"## Trial {trial.number}: {', '.join(labels) or 'not judged'}")
    assert optuna_dashboard.get_note(study).startswith("# Study old")
    # running it again replaces the figures instead of adding more
    assert run_study.main(["diagnose", "--storage", url, "--study", "old",
                           "--update-dashboard"]) == 0
    ids = list_graph_object_ids(study._storage.get_study_system_attrs(study._study_id))
    assert sorted(ids) == sorted(set(ids)) and {"curves", "diagnoses"} <= set(ids)
    assert set(ids) <= set(FIGURE_IDS) and "importance" not in ids  # the retired one is deleted


def test_a_journal_storage_keeps_a_retired_figure_it_cannot_delete(tmp_path):
    from optuna.storages.journal import JournalFileBackend

    storage = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "journal.log")))
    study = optuna.create_study(storage=storage, study_name="j")
    optuna_dashboard.save_plotly_graph_object(study, go.Figure(), graph_object_id="importance")
    assert drop_figure(study, "importance") is False
    assert list_graph_object_ids(storage.get_study_system_attrs(study._study_id)) == ["importance"]
    assert drop_figure(study, "curves") is False  # nothing of that id to delete


# Digits with a 2D CNN without batch norm: lr 0.05 learns, 1e-9 stays flat (the median pruner cuts
# it after epoch 1), 1e20 overflows at once (diverged); the fourth trial raises after its first epoch.
ENDINGS = deep_update(TINY_STUDY, {
    "data": Replace(kind="digits", val_fraction=0.2, test_fraction=0.0, seed=0),
    "space": {"architecture": "cnn2d", "optimizer": "sgd", "dropout": 0.0, "loss": "cross_entropy",
              "batch_size": 128, "lr": Replace(choices=[0.05, 0.04, 1.0e-9, 1.0e20])},
    "models": Replace(cnn2d={"width": 4, "depth": 2, "batch_norm": False}),
    "budget": {"n_trials": 4, "max_epochs": 3},
    "pruner": Replace(name="median", n_startup_trials=1, n_warmup_steps=0),
})


def test_every_way_a_trial_ends_gets_its_note_and_diagnosis(tmp_path, monkeypatch):
    raise_after_first_epoch(monkeypatch, trial_number=3,
                            error=RuntimeError("CUDA error: device-side assert (injected)"))
    path = tmp_path / "endings.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(ENDINGS))))
    url = f"sqlite:///{tmp_path / 'endings.db'}"
    study = optuna.create_study(storage=url, study_name="endings", direction="maximize")
    for lr in (0.05, 1.0e-9, 1.0e20, 0.04):
        study.enqueue_trial({"lr": lr})
    assert run_study.main(["run", str(path), "--storage", url]) == 0

    trials = optuna.load_study(study_name="endings", storage=url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED", "FAIL", "FAIL"]
    expected_reason = ["completed 3 epochs", "pruned at epoch 1", "diverged at epoch 1",
                       "failed: RuntimeError: CUDA error"]
    for trial, reason in zip(trials, expected_reason):
        note = optuna_dashboard.get_note(optuna.Trial(study, trial._trial_id))
        assert trial.user_attrs["stop_reason"].startswith(reason)
        assert note.startswith(f"## Trial {trial.number}: {trial.user_attrs['diagnosis']}")
        assert reason in note
        assert len(get_all_artifact_meta(trial, storage=study._storage)) == 1
    assert trials[2].user_attrs["diagnosis"] == "diverged"  # a NaN loss needs no more epochs
    assert trials[1].user_attrs["diagnosis"] == "pruned"  # cut short: judged as pruned, not underfit


def test_a_later_publish_keeps_the_fix_and_ensemble_sections_the_study_keeps(finished_study,
                                                                              tmp_path):
    import sqlite3

    from diagnose.dashboard.publish import ENSEMBLE, LIFT_NOTE, publish_study
    from diagnose.diagnosis import diagnosed
    from search.record.storage import StorageUrl
    from search.record.trial import study_records

    url, _ = finished_study
    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, \
            sqlite3.connect(tmp_path / "copy.db") as target:
        source.backup(target)  # the study as it is, write-ahead log included
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    study = optuna.load_study(study_name="tiny", storage=copy)
    study.set_user_attr(LIFT_NOTE, ["## Fix: before and after", "", "- before: trial #3"])
    study.set_user_attr(ENSEMBLE, {"note": "## Ensemble of the best trials\n\n| member |"})
    records = diagnosed(study_records(study), study.user_attrs["config"])
    publish_study(study, records, StorageUrl.parse(copy))
    note = optuna_dashboard.get_note(study)
    assert (note.index("# Study tiny") < note.index("## Fix: before and after")
            < note.index("**Best trial") < note.index("## Ensemble of the best trials"))
    assert note.count("## Ensemble of the best trials") == 1
