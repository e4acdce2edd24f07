"""``run_study.py diagnose``: a log file or a stored study in, a verdict (text, JSON or HTML) out.

A study is read once (``loaders.storage.load_study``); each trial's diagnosis is the one stored as it
ended, computed now only for trials stored before plateau stored diagnoses.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, TextIO

from diagnose.dashboard.notes import (next_fixes, next_study, next_study_file, run_command,
                                      study_advice)
from diagnose.diagnosis import RunContext, diagnose, diagnosed
from diagnose.overview import explores, overview, with_explored
from diagnose.render import text
from diagnose.render.view import counts_text, label_counts, view
from diagnose.wording import worded
from search.record.diagnosis import Diagnosis
from search.record.history import History
from search.record.errors import ConfigError
from search.record.measures import plural
from search.record.storage import DEFAULT_STORAGE, StorageUrl
from search.record.trial import TrialRecord, ranked


def diagnose_log(path: Path, predictions: Path | None = None,
                 study: Mapping[str, Any] | None = None) -> tuple[History, Diagnosis]:
    """The history of the log at ``path`` and its diagnosis, its fixes in the words of the log's
    framework, and tailored to ``study`` (a study file's content) when one is given."""
    from diagnose.loaders import load_history
    from diagnose.loaders.predictions import load_per_class

    history = load_history(path)
    if predictions is not None:
        history.per_class = load_per_class(predictions)
    diagnosis = diagnose(history, RunContext(study=study))
    return history, worded(diagnosis, history.source.format if history.source else None,
                           keep_changes=study is not None)


def verdict(title: str, diagnosis: Diagnosis) -> str:
    return text.render(view(diagnosis, max_fixes=text.MAX_FIXES), title)


def log_json(history: History, diagnosis: Diagnosis) -> dict[str, Any]:
    source = history.source
    return {"source": source and source.path, "format": source and source.format,
            "epochs": len(history.rows), **diagnosis.to_json()}


def run_log(path: Path, predictions: Path | None, as_json: bool, report: Path | None,
            out: TextIO | None = None, study_file: Path | None = None) -> int:
    out = out or sys.stdout
    if report is not None:  # before any work: a report that cannot be written is one line, at once
        from diagnose.report import check_output

        check_output(report, "--report", keep=[path] + ([predictions] if predictions else []))
    config = read_study_file(study_file) if study_file is not None else None
    history, diagnosis = diagnose_log(path, predictions, config.raw if config else None)
    if report is not None:
        from diagnose.report import run_report, write_report

        write_report(report, run_report(history, diagnosis, title=str(path)))
    fixes = next_fixes(diagnosis) if config is not None else []
    if as_json:
        nxt = {"next_study": {"study_file": next_study_file(config.name, fixes, config.raw),
                              "command": " ".join(run_command(config.storage))}
               if config and fixes else None}
        print(json.dumps({**log_json(history, diagnosis), **(nxt if config else {})}), file=out)
        return 0
    kind = history.source.format if history.source else "log"
    title = f"{path} ({kind}, {plural(len(history.rows), 'epoch')})"
    print(verdict(title, diagnosis), file=out)
    if config is not None:
        print(f"\nIn the study file {study_file}:", file=out)
        print("\n".join(next_study(config.name, fixes, config.raw, config.storage)) if fixes
              else "no fix of this diagnosis changes it.", file=out)
    if report is not None:
        print(f"report: {report}", file=out)
    return 0


@dataclass(frozen=True)
class StudyFile:
    """A study file to try a log's fixes in, as its YAML reads (``run_study.py run`` validates the
    edited file when it runs it; validating here would import the models, and torch)."""

    name: str
    raw: Mapping[str, Any]
    storage: StorageUrl


def read_study_file(path: Path) -> StudyFile:
    """The study file at ``path``; one line (``ConfigError``) unless it is a study file's mapping."""
    from search.fields import read_yaml

    raw = read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("space"), dict):
        got = f"keys {', '.join(map(str, raw))}" if isinstance(raw, dict) else type(raw).__name__
        raise ConfigError(f"{path}: --study-file must be a study file, a YAML mapping with a "
                          f"'space' section (such as studies/demo.yaml). Got {got} instead.")
    study = raw.get("study") if isinstance(raw.get("study"), dict) else {}
    return StudyFile(str(study.get("name") or path.stem), raw,
                     StorageUrl.parse(str(study.get("storage") or DEFAULT_STORAGE)))


def study_listing(records: list[TrialRecord]) -> str:
    """One line per diagnosed trial: number, state, value, labels and why."""
    import pandas

    frame = pandas.DataFrame({
        "#": [r.number for r in records], "state": [r.state for r in records],
        "value": ["-" if r.value is None else f"{r.value:.4g}" for r in records],
        "diagnosis": [r.diagnosis.label_text for r in records],
        "because": [r.diagnosis.because() for r in records]})
    return frame.to_markdown(index=False, tablefmt="simple", disable_numparse=True)


def run_study(storage: StorageUrl, study: str, trial: int | None, as_json: bool,
              report: Path | None, out: TextIO | None = None,
              update_dashboard: bool = False) -> int:
    from diagnose.loaders.storage import load_study

    out = out or sys.stdout
    if report is not None:  # before the study is read or its dashboard notes are written
        from diagnose.report import check_output

        check_output(report, "--report", keep=[storage.file] if storage.file else [])
    stored = load_study(storage, study, trial)
    config = stored.study.user_attrs.get("config")
    maximize = stored.study.direction.name != "MINIMIZE"
    metric = (stored.study.metric_names or ["value"])[0]
    records = diagnosed(stored.records, config)
    if trial is not None and explores(records[0]):  # how the study's other trials did with it
        records = [r for r in with_explored(diagnosed(load_study(storage, study).records, config),
                                            maximize, metric) if r.number == trial]
    elif trial is None:
        records = with_explored(records, maximize, metric)
    published = None
    if update_dashboard:
        from diagnose.dashboard.publish import publish_study

        published = publish_study(stored.study, records, storage, trial_notes=True)
    if report is not None:
        from diagnose.report import study_report, write_report

        write_report(report, study_report(study, [
            (f"trial {r.number} ({r.state})", r.history, r.diagnosis) for r in records]))
    plateau = [r for r in records if r.skipped is None]
    if as_json:
        shows = overview(plateau, maximize, metric) if trial is None else []
        print(json.dumps({"study": study, "trials": [
            {"number": r.number, "state": r.state, "value": r.value, **r.diagnosis.to_json()}
            for r in records], **({"study_shows": shows} if trial is None else {})}), file=out)
        return 0
    if trial is not None:
        (r,) = records
        value = f"{r.value:.4g}" if r.value is not None else "none"
        print(verdict(f"study '{study}', trial {r.number} ({r.state}, value {value})",
                      r.diagnosis), file=out)
    else:
        counts = counts_text(label_counts(r.diagnosis for r in records), len(records))
        print(f"study '{study}': {plural(len(records), 'trial')}; {counts}", file=out)
        print(study_listing(records), file=out)
        print("details of one trial: add --trial N\n", file=out)
        best = next(iter(ranked(plateau, maximize)), None)
        print("\n".join(study_advice(study, plateau, best, metric, config, storage, maximize)),
              file=out)
    if published is not None:
        print(f"dashboard: wrote the study note, {published[0]} trial notes and {published[1]} "
              f"figures; see them with: {storage.dashboard_command()}", file=out)
    if report is not None:
        print(f"report: {report}", file=out)
    return 0

