"""``diagnosed_trials``: a stored study's plateau trials, in number order, each diagnosed."""

from __future__ import annotations

import math

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from curve_cases import HEALTHY, history
from diagnose.dashboard.trials import diagnosed_trials


def add(study: optuna.Study, value: float | None, state: TrialState, attrs: dict) -> None:
    study.add_trial(create_trial(state=state, value=value, params={"lr": 0.01},
                                 distributions={"lr": FloatDistribution(1e-4, 1.0)},
                                 user_attrs=attrs))


def test_only_trials_with_a_history_in_number_order_with_their_diagnosis_and_hparams():
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize")
    attrs = history(**HEALTHY).to_user_attrs() | {"hparams": {"lr": 0.01, "dropout": 0.2}}
    add(study, 0.9, TrialState.COMPLETE, attrs)
    add(study, 0.5, TrialState.COMPLETE, {})  # not run by plateau: no history
    add(study, None, TrialState.PRUNED, attrs)
    add(study, math.inf, TrialState.COMPLETE, attrs)
    trials = [trial for _, trial in diagnosed_trials(study)]
    assert [(t.number, t.state, t.value) for t in trials] == [
        (0, "COMPLETE", 0.9), (2, "PRUNED", None), (3, "COMPLETE", None)]  # inf is no value
    assert all(t.diagnosis.labels == ("healthy",) for t in trials)
    assert trials[0].hparams == {"lr": 0.01, "dropout": 0.2}
