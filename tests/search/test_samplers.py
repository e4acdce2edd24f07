"""Sampler and pruner names map to Optuna's classes, with the study's seed and budget; each trial's
sampler is seeded from the study seed and the trial number, so a continued or parallel study never
replays a seeded sequence."""

from __future__ import annotations

import optuna
import pytest

from search.fair_pruner import WithinArchitecture
from search.samplers import (DEFAULT_SAMPLER, PRUNERS, SAMPLERS, TrialSeeded, build_pruner,
                             build_sampler, default_pruner, trial_seed)


@pytest.mark.parametrize("name, cls", [("tpe", optuna.samplers.TPESampler),
                                       ("random", optuna.samplers.RandomSampler),
                                       ("cmaes", optuna.samplers.CmaEsSampler),
                                       ("gp", optuna.samplers.GPSampler)])
def test_sampler_names(name, cls):
    sampler = build_sampler(name, {}, seed=1)
    assert type(sampler) is TrialSeeded and type(sampler._sampler) is cls
    assert set(SAMPLERS) == {"tpe", "random", "cmaes", "gp"}


def test_sampler_seed_makes_sampling_repeatable():
    def first_values(seed):
        study = optuna.create_study(sampler=build_sampler("random", {}, seed))
        return [study.ask().suggest_float("x", 0, 1) for _ in range(3)]
    assert first_values(3) == first_values(3) != first_values(4)


def test_sampler_options_reach_the_optuna_class():
    assert build_sampler("tpe", {"n_startup_trials": 3}, seed=0)._sampler._n_startup_trials == 3


@pytest.mark.parametrize("name", ["tpe", "random"])
def test_a_continued_study_draws_new_values_and_the_same_ones_on_a_rerun(name):
    """Three processes' worth of trials on one storage: a fresh sampler each time, as a new process
    or a second worker builds it; no value repeats, and the same study seed draws the same values."""
    def draws(seed):
        storage = optuna.storages.InMemoryStorage()
        values = []
        for _ in range(3):  # three runs of the same command, each continuing the study
            study = optuna.create_study(storage=storage, study_name="s", load_if_exists=True,
                                        sampler=build_sampler(name, {}, seed))
            for _ in range(4):
                trial = study.ask()
                values.append(trial.suggest_float("x", 0, 1))
                study.tell(trial, values[-1])
        return values
    first = draws(0)
    assert len(set(first)) == len(first) == 12
    assert draws(0) == first and draws(1) != first


def test_trial_seeds_are_distinct_and_fixed():
    seeds = [trial_seed(0, n) for n in range(1000)]
    assert len(set(seeds)) == 1000 and all(0 <= s < 2**32 for s in seeds)
    assert trial_seed(0, 5) == trial_seed(0, 5) != trial_seed(1, 5)


def test_hyperband_spans_one_to_max_epochs_unless_told_otherwise():
    assert set(PRUNERS) == {"hyperband", "median", "successive_halving", "none"}
    pruner = build_pruner("hyperband", {}, max_epochs=27)
    assert (pruner._min_resource, pruner._max_resource) == (1, 27)
    assert build_pruner("hyperband", {"min_resource": 3}, max_epochs=27)._min_resource == 3
    assert type(build_pruner("none", {}, 5)) is optuna.pruners.NopPruner
    assert type(build_pruner("median", {"n_warmup_steps": 2}, 5)) is optuna.pruners.MedianPruner


@pytest.mark.parametrize("name, options, inner", [
    ("median", {"within_architecture": True}, optuna.pruners.MedianPruner),
    ("successive_halving", {"within_architecture": True, "min_resource": 2},
     optuna.pruners.SuccessiveHalvingPruner),
])
def test_within_architecture_wraps_the_named_pruner(name, options, inner):
    pruner = build_pruner(name, options, 20)
    assert type(pruner) is WithinArchitecture and type(pruner.pruner) is inner
    assert type(build_pruner(name, {**options, "within_architecture": False}, 20)) is inner


def test_the_default_sampler_and_pruner():
    """No sampler or pruner in the study file: multivariate, grouped TPE; median pruning within
    each architecture after 30% of max_epochs (README, "Search defaults")."""
    name, options = DEFAULT_SAMPLER
    sampler = build_sampler(name, options, seed=0)._sampler
    assert sampler._multivariate and sampler._group and sampler._constant_liar
    assert sampler._n_startup_trials == options["n_startup_trials"]
    pruner = build_pruner(*default_pruner(20), max_epochs=20)
    assert type(pruner) is WithinArchitecture
    assert (pruner.pruner._n_warmup_steps, pruner.pruner._n_startup_trials) == (6, 3)
    assert build_pruner(*default_pruner(10), max_epochs=10).pruner._n_warmup_steps == 3
