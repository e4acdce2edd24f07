"""Optuna samplers and pruners by the names a study file uses.

Options in the study file are passed to the Optuna class as keyword arguments, so every option of
Optuna's own classes is available (``sampler: {name: tpe, multivariate: true}``); an option the class
does not take is a one-line error at load time.

A sampler seeded once replays its seeded sequence in every process that builds it: continuing a study
(or running it from two workers) would draw trial 0's start-up parameters again. So the sampler is
built again before each trial, seeded from the study seed and the trial's number (``TrialSeeded``):
reproducible, and distinct for every trial of the study however many processes run it.
"""

from __future__ import annotations

import types
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

SAMPLERS: Mapping[str, type[optuna.samplers.BaseSampler]] = types.MappingProxyType({
    "tpe": optuna.samplers.TPESampler,  # Optuna's default; handles conditional and categorical params
    "random": optuna.samplers.RandomSampler,
    "cmaes": optuna.samplers.CmaEsSampler,  # continuous params only; others fall back to random
    "gp": optuna.samplers.GPSampler,  # Gaussian-process Bayesian optimisation (uses torch)
})

PRUNERS: Mapping[str, type[optuna.pruners.BasePruner]] = types.MappingProxyType({
    "hyperband": optuna.pruners.HyperbandPruner,  # Li et al. 2018; max_resource = max_epochs
    "median": optuna.pruners.MedianPruner,
    "none": optuna.pruners.NopPruner,
})


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number`` of a study seeded ``seed`` (well mixed, in [0, 2**32))."""
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0])


class TrialSeeded(optuna.samplers.BaseSampler):
    """A sampler built again before each trial, seeded with ``trial_seed(seed, trial.number)``;
    everything else is the built sampler's own (samplers keep their state in the study)."""

    def __init__(self, build: Callable[[int], optuna.samplers.BaseSampler], seed: int):
        self._build, self._seed = build, seed
        self._sampler = build(seed)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._sampler = self._build(trial_seed(self._seed, trial.number))
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study: optuna.Study,
                                    trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._sampler.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._sampler.reseed_rng()


def build_sampler(name: str, options: Mapping[str, Any], seed: int) -> optuna.samplers.BaseSampler:
    return TrialSeeded(lambda trial_seed: SAMPLERS[name](seed=trial_seed, **options), seed)


def build_pruner(name: str, options: Mapping[str, Any], max_epochs: int) -> optuna.pruners.BasePruner:
    if name == "hyperband":
        options = {"min_resource": 1, "max_resource": max_epochs, **options}
    return PRUNERS[name](**options)
