"""Sampler and pruner names map to Optuna's classes, with the study's seed and budget."""

from __future__ import annotations

import optuna
import pytest

from search.samplers import PRUNERS, SAMPLERS, build_pruner, build_sampler


@pytest.mark.parametrize("name, cls", [("tpe", optuna.samplers.TPESampler),
                                       ("random", optuna.samplers.RandomSampler),
                                       ("cmaes", optuna.samplers.CmaEsSampler),
                                       ("gp", optuna.samplers.GPSampler)])
def test_sampler_names(name, cls):
    assert type(build_sampler(name, {}, seed=1)) is cls
    assert set(SAMPLERS) == {"tpe", "random", "cmaes", "gp"}


def test_sampler_seed_makes_sampling_repeatable():
    def first_values(seed):
        study = optuna.create_study(sampler=build_sampler("random", {}, seed))
        return [study.ask().suggest_float("x", 0, 1) for _ in range(3)]
    assert first_values(3) == first_values(3) != first_values(4)


def test_sampler_options_reach_the_optuna_class():
    assert build_sampler("tpe", {"n_startup_trials": 3}, seed=0)._n_startup_trials == 3


def test_hyperband_spans_one_to_max_epochs_unless_told_otherwise():
    assert set(PRUNERS) == {"hyperband", "median", "none"}
    pruner = build_pruner("hyperband", {}, max_epochs=27)
    assert (pruner._min_resource, pruner._max_resource) == (1, 27)
    assert build_pruner("hyperband", {"min_resource": 3}, max_epochs=27)._min_resource == 3
    assert type(build_pruner("none", {}, 5)) is optuna.pruners.NopPruner
    assert type(build_pruner("median", {"n_warmup_steps": 2}, 5)) is optuna.pruners.MedianPruner
