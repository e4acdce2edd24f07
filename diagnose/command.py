"""``run_study.py diagnose``: a log file or a stored study in, a verdict (text, JSON or HTML) out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from diagnose.diagnosis import diagnose
from diagnose.findings import Diagnosis
from diagnose.verdict import label_counts, run_verdict, trial_line
from search.history import History


def diagnose_log(path: Path, predictions: Path | None = None) -> tuple[History, Diagnosis]:
    from diagnose.loaders import load_history
    from diagnose.loaders.predictions import load_per_class

    history = load_history(path)
    if predictions is not None:
        history.per_class = load_per_class(predictions)
    return history, diagnose(history)


def log_json(history: History, diagnosis: Diagnosis) -> dict[str, Any]:
    return {"source": history.facts.get("source"), "format": history.facts.get("format"),
            "epochs": len(history.rows), **diagnosis.to_json()}


def run_log(path: Path, predictions: Path | None, as_json: bool, report: Path | None,
            out: TextIO | None = None) -> int:
    out = out or sys.stdout
    history, diagnosis = diagnose_log(path, predictions)
    if report is not None:
        from diagnose.report import run_report, write_report

        write_report(report, run_report(history, diagnosis, title=str(path)))
    if as_json:
        print(json.dumps(log_json(history, diagnosis)), file=out)
    else:
        title = f"{path} ({history.facts.get('format', 'log')}, {len(history.rows)} epochs)"
        print(run_verdict(title, diagnosis), file=out)
        if report is not None:
            print(f"report: {report}", file=out)
    return 0


def run_study(storage: str, study: str, trial: int | None, as_json: bool, report: Path | None,
              out: TextIO | None = None, update_dashboard: bool = False) -> int:
    out = out or sys.stdout
    from diagnose.loaders.storage import load_trials

    runs = load_trials(storage, study, trial)
    diagnoses = [diagnose(run.history) for run in runs]
    published = _update_dashboard(storage, study) if update_dashboard else None
    if report is not None:
        from diagnose.report import study_report, write_report

        write_report(report, study_report(study, [
            (f"trial {run.number} ({run.state})", run.history, d) for run, d in zip(runs, diagnoses)]))
    if as_json:
        print(json.dumps({"study": study, "trials": [
            {"number": run.number, "state": run.state, "value": run.value, **d.to_json()}
            for run, d in zip(runs, diagnoses)]}), file=out)
        return 0
    if trial is not None:
        (run,), (d,) = runs, diagnoses
        print(run_verdict(f"study '{study}', trial {run.number} ({run.state}, value "
                          f"{run.value})", d), file=out)
    else:
        print(f"study '{study}': {len(runs)} trials; {label_counts(diagnoses)}", file=out)
        for run, d in zip(runs, diagnoses):
            print(trial_line(run.number, run.state, run.value, d), file=out)
        print("details of one trial: add --trial N", file=out)
    if published is not None:
        print(f"dashboard: wrote the study note, {published[0]} trial notes and {published[1]} "
              f"figures; see them with: python run_study.py dashboard --storage {storage}",
              file=out)
    if report is not None:
        print(f"report: {report}", file=out)
    return 0


def _update_dashboard(storage: str, study_name: str) -> tuple[int, int]:
    """Write the notes and figures optuna-dashboard shows. Returns (trial notes, figures)."""
    import optuna

    from diagnose.dashboard.publish import publish_study
    from search.storage import open_storage

    study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    return publish_study(study, storage, trial_notes=True)
