"""The fix study's plan: the study file with the fixes' changes, the baseline's pinned re-runs, and one
pinned trial per fix that is the baseline with that fix alone, whose hyperparameters the search side
trains as they are (``Hyperparams.from_json``)."""

from __future__ import annotations

import pytest

from diagnose.fixes import FIXES, tailored
from diagnose.lift_plan import (BASELINE, BASELINE_RUNS, PRUNER, ROLE, direct_fixes, fix_study_file,
                                fix_trial, nearest, plan, representative)
from search.config import load_study_config
from search.record.diagnosis import Change, Diagnosis, Finding, Fix
from search.record.trial import PINNED
from search.space import Hyperparams
from tiny import TINY_STUDY, deep_update

FIX = {fix.name: fix for fixes in FIXES.values() for fix in fixes}
# A baseline of the tiny study: the hyperparameters a trial of it stores.
HPARAMS = {"architecture": "c3d", "lr": 0.002, "lr_schedule": "constant", "batch_size": 8,
           "dropout": 0.1, "weight_decay": 0.0, "optimizer": "adam", "momentum": None,
           "loss": "cross_entropy", "class_weighting": None, "focal_gamma": None,
           "label_smoothing": None, "grad_clip_norm": None, "augmentation": "none",
           "sampling": "none", "c3d.width": 4, "c3d.depth": 1}


@pytest.mark.parametrize("fix, changed", [
    ("dropout", {"dropout": pytest.approx(0.45)}),  # the middle of the fix's range
    # a log range's geometric middle, and the optimizer the fix adds
    ("weight_decay", {"weight_decay": pytest.approx(1e-3), "optimizer": "adamw"}),
    ("smaller_model", {"c3d.width": 2}),  # the baseline's knob, scaled
    ("capacity", {"c3d.width": 8, "c3d.depth": 2}),
    ("focal_loss", {"loss": "focal", "focal_gamma": 2.0}),  # the loss and its own knob
    ("weighted_cross_entropy", {"loss": "weighted_cross_entropy",
                                "class_weighting": "inverse_frequency"}),
    ("resampling", {"sampling": "oversample"}),  # the first value the fix adds
    ("gradient_clipping", {"grad_clip_norm": 0.5}),
    # the geometric middle of 1e-5 .. the baseline's 0.002 (the range ends at the rate that diverged)
    ("lower_learning_rate", {"lr": pytest.approx((1e-5 * 0.002) ** 0.5)}),
])
def test_a_fix_trial_is_the_baseline_with_that_fix_alone(fix, changed):
    (tailored_fix,) = tailored([FIX[fix]], TINY_STUDY, HPARAMS)  # as the trial's diagnosis has it
    trial = fix_trial(tailored_fix, TINY_STUDY, HPARAMS)
    pinned = trial.user_attrs[PINNED]
    assert trial.role == fix and trial.user_attrs[ROLE] == fix and trial.params == {}
    assert pinned["hparams"] == {**HPARAMS, **changed}
    assert pinned["max_epochs"] == TINY_STUDY["budget"]["max_epochs"]
    Hyperparams.from_json(pinned["hparams"])  # what the objective trains with


def test_training_longer_pins_the_doubled_epochs_and_keeps_the_hyperparameters():
    pinned = fix_trial(FIX["train_longer"], TINY_STUDY, HPARAMS).user_attrs[PINNED]
    assert pinned["hparams"] == HPARAMS and pinned["max_epochs"] == 4


def test_a_fix_no_single_trial_can_carry_applies_to_every_trial():
    study = deep_update(TINY_STUDY, {"early_stopping": {"patience": 5}})
    assert fix_trial(FIX["early_stopping"], study, HPARAMS) is None
    planned = plan(study, "tiny-fix", [FIX["early_stopping"], FIX["dropout"]], HPARAMS, 7, 6)
    assert [t.role for t in planned.trials] == [BASELINE] * BASELINE_RUNS + ["dropout"]
    assert planned.left_out == ("early_stopping (changes every trial: early_stopping.patience, "
                                "early_stopping.warmup_epochs)",)
    assert planned.study_file["early_stopping"] == {"patience": 3, "warmup_epochs": 0}


def test_the_baseline_runs_are_pinned_to_its_hyperparameters_and_epochs_and_told_apart():
    planned = plan(TINY_STUDY, "tiny-fix", [FIX["dropout"]], HPARAMS, 7, 6)
    runs = [t.user_attrs[PINNED] for t in planned.trials if t.role == BASELINE]
    assert len(runs) == BASELINE_RUNS >= 2
    assert all(r["hparams"] == HPARAMS and r["max_epochs"] == 2 for r in runs)
    assert len({r["label"] for r in runs}) == BASELINE_RUNS  # not repeats of each other


def test_the_fix_study_file_has_every_change_a_new_name_and_seed_and_no_pruner(tmp_path):
    fixes = [FIX["dropout"], FIX["focal_loss"]]
    study = fix_study_file(TINY_STUDY, "tiny-fix", fixes, seed=9, n_trials=6)
    assert study["study"] == {"seed": 9, "name": "tiny-fix"}
    assert study["pruner"] == PRUNER and study["budget"] == {"n_trials": 6, "max_epochs": 2}
    assert study["space"]["dropout"] == {"low": 0.3, "high": 0.6}
    assert study["space"]["focal_gamma"] == {"low": 1.0, "high": 3.0}
    path = tmp_path / "tiny-fix.yaml"
    path.write_text(__import__("yaml").safe_dump(study))
    config = load_study_config(path)  # a study file the search side runs
    assert config.name == "tiny-fix" and config.seed == 9 and config.pruner.name == "none"


def test_direct_fixes_are_every_labels_fixes_that_change_the_study_once_each():
    def finding(label, *names):
        return Finding(label, 1.0, "", {}, tuple(FIX[n] for n in names))
    diagnosis = Diagnosis(("overfit", "imbalanced"), (
        finding("overfit", "dropout", "ensemble"), finding("imbalanced", "focal_loss", "dropout")))
    assert [f.name for f in direct_fixes(diagnosis)] == ["dropout", "focal_loss"]  # ensemble: none


@pytest.mark.parametrize("spec, value, expected", [
    ({"low": 0.3, "high": 0.6}, 0.1, 0.3),
    ({"low": 0.3, "high": 0.6}, 0.9, 0.6),
    ({"low": 0.3, "high": 0.6}, 0.4, 0.4),
    ({"choices": [8, 16]}, 16, 16),
    ({"choices": [8, 16]}, 32, 8),
    (0.5, 0.1, None),  # a fixed value: nothing to choose
])
def test_nearest(spec, value, expected):
    assert nearest(spec, value) == expected


@pytest.mark.parametrize("spec, expected", [
    (0.25, 0.25), ({"choices": ["c3d", "convlstm"]}, "c3d"), ({"low": 1, "high": 3}, 2),
    ({"low": 1e-4, "high": 1e-2, "log": True}, pytest.approx(1e-3)),
])
def test_representative(spec, expected):
    assert representative(spec) == expected


def test_an_included_value_the_baseline_already_has_is_not_a_change():
    fix = Fix("f", "", (Change("include", "space.optimizer", ["adam"]),))
    assert fix_trial(fix, TINY_STUDY, HPARAMS) is None
