"""What a study still has to run: which trials count toward its total, interrupted trials queued
again once, and when several workers stop."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from search.resume import StopAtTotal, counted, requeue_interrupted, to_run


def study_with(*trials: tuple[str, str | None, list[int]]) -> optuna.Study:
    """Trials as (state, stop reason, retry history)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study()
    for i, (state, reason, history) in enumerate(trials):
        study.add_trial(create_trial(
            state=TrialState[state], value=0.5 if state == "COMPLETE" else None,
            params={"x": i / 100}, distributions={"x": FloatDistribution(0, 1)},
            user_attrs={"history": {"format": 1, "columns": [], "rows": []},
                        **({"stop_reason": reason} if reason else {})},
            system_attrs={"retry_history": history, "failed_trial": history[0]} if history
            else {}))
    return study


@pytest.mark.parametrize("trials, count", [
    ([("COMPLETE", None, []), ("PRUNED", None, []), ("FAIL", "diverged at epoch 2", [])], 3),
    ([("FAIL", "interrupted by SIGTERM after epoch 3", []), ("COMPLETE", None, [0])], 1),
    ([("FAIL", "worker lost: no heartbeat for 180 s", []), ("WAITING", None, [0])], 0),
    ([("RUNNING", None, []), ("WAITING", None, [])], 0),
], ids=["finished count", "a retried trial does not", "lost and queued", "not finished"])
def test_which_trials_count_toward_the_total(trials, count):
    assert counted(study_with(*trials).get_trials()) == count


@pytest.mark.parametrize("total, more, done, expected", [
    (10, None, 4, 6), (10, None, 12, 0), (10, 3, 4, 3), (None, None, 4, None), (None, 5, 4, 5)],
    ids=["what the total lacks", "total passed", "--n-trials", "no total", "no total, more"])
def test_how_many_trials_a_run_starts(total, more, done, expected):
    trials = study_with(*[("COMPLETE", None, [])] * done).get_trials()
    assert to_run(total, more, trials) == expected


def test_interrupted_trials_are_queued_again_once_with_their_history():
    study = study_with(("FAIL", "interrupted by SIGTERM after epoch 3", []),
                       ("FAIL", "failed: RuntimeError: bug", []),
                       ("FAIL", "interrupted (Ctrl-C)", []))
    assert requeue_interrupted(study) == [0, 2]
    assert requeue_interrupted(study) == []  # already queued: not twice
    waiting = study.get_trials(states=(TrialState.WAITING,))
    assert [(t.params, t.system_attrs["retry_history"]) for t in waiting] == [
        ({"x": 0.0}, [0]), ({"x": 0.02}, [2])]


def test_workers_stop_once_finished_and_running_trials_reach_the_total():
    study = study_with(("COMPLETE", None, []), ("RUNNING", None, []))  # one running elsewhere
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=10,
                   callbacks=[StopAtTotal(3)])
    assert len(study.trials) == 3  # one more: finished 2 + running 1 = the total of 3
