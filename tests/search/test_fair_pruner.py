"""``WithinArchitecture``: a trial is pruned only by comparison with trials of its own architecture.

Each case is a real Optuna study (in memory) with completed trials of known curves; a new trial
reports its values and asks ``should_prune``, with the plain pruner and the wrapped one."""

from __future__ import annotations

import optuna
import pytest

from search.fair_pruner import WithinArchitecture, describe

ARCHS = ["convlstm", "c3d"]


def study_with(done: list[tuple[str | None, list[float]]], pruner) -> optuna.Study:
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for arch, curve in done:
        if arch is not None:
            study.enqueue_trial({"architecture": arch})
        trial = study.ask()
        if arch is not None:
            trial.suggest_categorical("architecture", ARCHS)
        for step, value in enumerate(curve, start=1):
            trial.report(value, step)
            trial.should_prune()  # successive halving records the trial's rungs here
        study.tell(trial, max(curve))
    return study


def prunes(study: optuna.Study, arch: str | None, curve: list[float]) -> bool:
    """Whether the new trial is pruned at some step of ``curve``."""
    if arch is not None:
        study.enqueue_trial({"architecture": arch})
    trial = study.ask()
    if arch is not None:
        trial.suggest_categorical("architecture", ARCHS)
    for step, value in enumerate(curve, start=1):
        trial.report(value, step)
        if trial.should_prune():
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return True
    study.tell(trial, max(curve))
    return False


FAST = [0.5, 0.8, 0.9, 0.9]  # a 3D CNN that learns at once
SLOW = [0.1, 0.1, 0.3, 0.95]  # a ConvLSTM that takes off late
STUCK = [0.1, 0.1, 0.1, 0.1]


def median(**options):
    return optuna.pruners.MedianPruner(n_startup_trials=3, **options)


@pytest.mark.parametrize("done, arch, curve, plain, within", [
    # a slow starter among fast trials of another family: pruned by the plain pruner only
    ([("c3d", FAST)] * 3, "convlstm", SLOW, True, False),
    # ... and once its own family has completed trials, a stuck one of that family is pruned
    ([("c3d", FAST)] * 3 + [("convlstm", SLOW)] * 3, "convlstm", STUCK, True, True),
    # a slow starter among its own family's slow starters is not
    ([("c3d", FAST)] * 3 + [("convlstm", SLOW)] * 3, "convlstm", SLOW, True, False),
    # a space of one architecture (no parameter): the same as the plain pruner
    ([(None, FAST)] * 3, None, STUCK, True, True),
    ([(None, FAST)] * 3, None, FAST, False, False),
])
def test_pruned_only_against_its_own_architecture(done, arch, curve, plain, within):
    assert prunes(study_with(done, median()), arch, curve) is plain
    assert prunes(study_with(done, WithinArchitecture(median())), arch, curve) is within


def test_the_warm_up_still_applies_within_the_family():
    done = [("c3d", FAST)] * 3 + [("convlstm", SLOW)] * 3
    warm = WithinArchitecture(median(n_warmup_steps=3))  # judged from the 3rd epoch's end on
    assert prunes(study_with(done, warm), "convlstm", [0.0, 0.0]) is False  # behind, not judged
    assert prunes(study_with(done, warm), "convlstm", [0.0, 0.0, 0.0]) is True


def test_successive_halving_keeps_its_rungs_within_the_family():
    """ASHA writes each trial's rung values through the storage and promotes the top third of the
    rung; wrapped, a slow family's rung holds only its own trials."""
    pruner = WithinArchitecture(optuna.pruners.SuccessiveHalvingPruner(min_resource=1))
    study = study_with([("c3d", FAST)] * 3 + [("convlstm", SLOW)] * 3, pruner)
    assert prunes(study, "convlstm", [0.2, 0.2, 0.5, 0.99]) is False  # best of its family at step 1
    assert prunes(study, "c3d", [0.2, 0.2, 0.5, 0.99]) is True  # worst of its own at step 1


@pytest.mark.parametrize("pruner, params, said", [
    (WithinArchitecture(median()), {"architecture": "convlstm", "lr": 0.1},
     "MedianPruner among the convlstm trials"),
    (WithinArchitecture(median()), {"lr": 0.1}, "MedianPruner"),  # one architecture
    (median(), {"architecture": "c3d"}, "MedianPruner"),
])
def test_a_pruned_trial_says_which_pruner_and_group(pruner, params, said):
    assert describe(pruner, params) == said
