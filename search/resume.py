"""What a study still has to run, so that the same command run again resumes it.

``budget.n_trials`` is the study's total. Trials that finished count toward it: complete, pruned, and
failed (diverged, raised), except a failed trial that is run again: one interrupted by Ctrl-C or
SIGTERM, queued again here when the study next runs, or one whose worker was lost, queued again by the
heartbeat (``search.heartbeat``). A queued trial (WAITING) runs before any new one, with the same
parameters, from its checkpoint. ``--n-trials N`` runs N trials now instead, whatever the total.
"""

from __future__ import annotations

from typing import Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.heartbeat import retry_callback
from search.record.trial import TrialRecord

INTERRUPTED = "interrupted"  # how the stop reason of an interrupted trial starts


def retried(trials: Iterable[FrozenTrial]) -> set[int]:
    """The numbers of the trials another trial runs again."""
    return {number for t in trials for number in t.system_attrs.get("retry_history", ())}


def counted(trials: list[FrozenTrial]) -> int:
    """How many trials count toward the study's total."""
    again = retried(trials)
    return sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or (t.state == TrialState.FAIL and t.number not in again) for t in trials)


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Queue again every interrupted trial not queued yet (same parameters, its intermediate values,
    and a retry history through which it finds its checkpoint). Returns their numbers."""
    trials = study.get_trials(deepcopy=False)
    again = retried(trials)
    interrupted = [t for t in trials if t.state == TrialState.FAIL and t.number not in again
                   and (TrialRecord.from_frozen_trial(t).stop_reason or "").startswith(INTERRUPTED)]
    queue = retry_callback(max_retry=None)  # an interruption is no fault: no limit
    for trial in interrupted:
        queue(study, trial)
    return [t.number for t in interrupted]


def to_run(total: int | None, more: int | None, trials: list[FrozenTrial]) -> int | None:
    """How many trials this run starts: ``more`` if given, else what the total still lacks (None:
    no limit, until the timeout or Ctrl-C)."""
    if more is not None or total is None:
        return more
    return max(0, total - counted(trials))


class StopAtTotal:
    """An ``optimize`` callback that stops the study once its finished trials and those running
    (in this and other workers) reach the total, so that several workers do not overshoot it."""

    def __init__(self, total: int):
        self.total = total

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        trials = study.get_trials(deepcopy=False)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        if counted(trials) + running >= self.total:
            study.stop()
