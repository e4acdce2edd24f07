"""The report printed when a study run ends: the best trial, each trial of the run, where to look.

Built from the records the run read back once (no second read of the storage); the trials of the run
are a pandas DataFrame, printed as a plain table.
"""

from __future__ import annotations

from collections import Counter
from textwrap import indent

import pandas

from search.progress import format_params, format_value
from search.record.measures import plural
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord, ranked
from search.study import StudyRun


def trials_frame(records: list[TrialRecord], metric: str) -> pandas.DataFrame:
    """One row per trial: number, state, value, epochs run, diagnosis, why it stopped."""
    return pandas.DataFrame({
        "#": [r.number for r in records],
        "state": [r.state for r in records],
        metric: [format_value(r.value) if r.value is not None else "-" for r in records],
        "epochs": [r.epochs_run for r in records],
        "diagnosis": [r.diagnosis.label_text if r.diagnosis is not None else "-" for r in records],
        "why it stopped": [r.stop_reason or "" for r in records],
    })


def nothing_succeeded(run: StudyRun) -> str | None:
    """When every trial this run finished failed: why, by the commonest stop reason; else None."""
    by_number = {r.number: r for r in run.records}
    mine = [by_number[n] for n in run.finished if n in by_number]
    if not mine or any(r.state in ("COMPLETE", "PRUNED") for r in mine):
        return None
    reason, count = Counter(r.stop_reason or "failed without a reason" for r in mine).most_common(1)[0]
    return (f"all {plural(len(mine), 'trial')} of this run failed; the commonest reason "
            f"({count} of {len(mine)}): {reason}")


def study_summary(run: StudyRun, storage: StorageUrl) -> str:
    study, records = run.study, run.records
    states = Counter(r.state.lower() for r in records)
    metric = (study.metric_names or ["value"])[0]
    direction = study.direction.name.lower()
    lines = [f"Study '{study.study_name}': {plural(len(records), 'trial')} in all "
             f"({', '.join(f'{n} {s}' for s, n in sorted(states.items()))}); "
             f"{len(run.finished)} run now."]
    best = next(iter(ranked(records, direction == "maximize")), None)
    if best is None:
        lines.append("No trial has completed yet: see each trial's stop reason below.")
    else:
        lines.append(f"Best trial #{best.number}: {metric} = {best.value:.4f} ({direction}), epoch "
                     f"{best.best_epoch or '?'} of {best.epochs_run}")
        lines.append(f"  {format_params(best.params)}")
    if run.finished:
        by_number = {r.number: r for r in records}
        frame = trials_frame([by_number[n] for n in run.finished], metric)
        lines.append("Trials of this run:")
        lines.append(indent(frame.to_markdown(index=False, tablefmt="simple"), "  "))
        lines.append(f"Why a trial plateaued, and what to try: python run_study.py diagnose "
                     f"--storage {storage.url} --study {study.study_name} --trial N")
    lines.append(f"Storage: {storage.describe()}")
    lines.append(f"Inspect: {storage.dashboard_command()}")
    return "\n".join(lines)
