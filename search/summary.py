"""The report printed when a study run ends: the best trial, each trial of the run, where to look."""

from __future__ import annotations

from collections import Counter

import optuna

from diagnose.diagnosis import diagnose
from diagnose.verdict import labels_text
from search.history import History
from search.progress import format_params, format_value
from search.storage import dashboard_command, describe


def study_summary(study: optuna.Study, storage_url: str, trial_numbers: list[int]) -> str:
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    metric = (study.metric_names or ["value"])[0]
    lines = [f"Study '{study.study_name}': {len(trials)} trials in all "
             f"({', '.join(f'{n} {s}' for s, n in sorted(states.items()))}); "
             f"{len(trial_numbers)} run now."]
    try:
        best = study.best_trial
    except ValueError:
        lines.append("No trial has completed yet: see each trial's stop reason below.")
    else:
        attrs = best.user_attrs
        lines.append(f"Best trial #{best.number}: {metric} = {best.value:.4f} "
                     f"({study.direction.name.lower()}), epoch {attrs.get('best_epoch', '?')} of "
                     f"{attrs.get('epochs_run', '?')}")
        lines.append(f"  {format_params(best.params)}")

    by_number = {t.number: t for t in trials}
    if trial_numbers:
        lines.append(f"Trials of this run:\n  {'#':>4}  {'state':<8}  {metric:>12}  epochs  "
                     f"{'diagnosis':<20}  why it stopped")
    for number in trial_numbers:
        t = by_number[number]
        value = format_value(t.value) if t.value is not None else "-"
        lines.append(f"  {number:>4}  {t.state.name:<8}  {value:>12}  "
                     f"{t.user_attrs.get('epochs_run', '-'):>6}  {_diagnosis(t):<20}  "
                     f"{t.user_attrs.get('stop_reason', '')}")
    if trial_numbers:
        lines.append(f"Why a trial plateaued, and what to try: python run_study.py diagnose "
                     f"--storage {storage_url} --study {study.study_name} --trial N")
    lines.append(f"Storage: {describe(storage_url)}")
    lines.append(f"Inspect: {dashboard_command(storage_url)}")
    return "\n".join(lines)


def _diagnosis(trial: optuna.trial.FrozenTrial) -> str:
    """The trial's diagnosis labels: as published when it ended, else from the history it stored."""
    if "diagnosis" in trial.user_attrs:
        return trial.user_attrs["diagnosis"]
    if "history" not in trial.user_attrs:
        return "-"
    return labels_text(diagnose(History.from_user_attrs(trial.user_attrs)))
