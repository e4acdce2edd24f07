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

import math
import types
import warnings
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from search.fair_pruner import WithinArchitecture

SAMPLERS: Mapping[str, type[optuna.samplers.BaseSampler]] = types.MappingProxyType({
    "tpe": optuna.samplers.TPESampler,  # Optuna's default; handles conditional and categorical params
    "random": optuna.samplers.RandomSampler,
    "cmaes": optuna.samplers.CmaEsSampler,  # continuous params only; others fall back to random
    "gp": optuna.samplers.GPSampler,  # Gaussian-process Bayesian optimisation (uses torch)
})

PRUNERS: Mapping[str, type[optuna.pruners.BasePruner]] = types.MappingProxyType({
    "median": optuna.pruners.MedianPruner,
    "successive_halving": optuna.pruners.SuccessiveHalvingPruner,  # ASHA, Li et al. 2020
    "hyperband": optuna.pruners.HyperbandPruner,  # Li et al. 2018; max_resource = max_epochs
    "none": optuna.pruners.NopPruner,
})
WITHIN_ARCHITECTURE = "within_architecture"  # plateau's own pruner option (``search.fair_pruner``)

# plateau's defaults, for a study file that names no sampler or pruner; chosen with
# bench/search_efficiency.py and bench/pruning_replay.py (README, "Search defaults").
DEFAULT_SAMPLER = ("tpe", {
    "multivariate": True,  # models the parameters jointly (Falkner et al. 2018; Optuna's docs)
    "group": True,  # ... per set of parameters that occur together: one per architecture
    # random trials first, Optuna's default: 5 reached the benchmark's hard target in 2 and 1 of 5
    # seeds (digits, demo), 10 in 3 and 3 (README, "Search defaults")
    "n_startup_trials": 10,
    "constant_liar": True,  # several workers: running trials count as bad, so they spread out
})
PRUNER_STARTUP_TRIALS = 3  # completed trials of the architecture before any of it is pruned
# No trial is judged before this share of max_epochs: on the demo study a ConvLSTM's score at
# epochs 1-5 hardly predicts its final rank (Spearman 0.24-0.49), from epoch 6 of 20 it does (0.82;
# bench/pruning_replay.py).
PRUNER_WARMUP_FRACTION = 0.3


def default_pruner(max_epochs: int) -> tuple[str, dict[str, Any]]:
    """Median pruning within each architecture, after a warm-up of 30% of max_epochs."""
    return ("median", {"n_startup_trials": PRUNER_STARTUP_TRIALS,
                       "n_warmup_steps": math.ceil(PRUNER_WARMUP_FRACTION * max_epochs),
                       WITHIN_ARCHITECTURE: True})


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
    def build(trial_seed: int) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():  # multivariate, group, constant_liar: "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return SAMPLERS[name](seed=trial_seed, **options)
    return TrialSeeded(build, seed)


def build_pruner(name: str, options: Mapping[str, Any], max_epochs: int) -> optuna.pruners.BasePruner:
    """Optuna's pruner ``name`` with ``options``; ``within_architecture: true`` wraps it so that a
    trial is compared only with trials of its own architecture (``search.fair_pruner``)."""
    options = dict(options)
    within = options.pop(WITHIN_ARCHITECTURE, False)
    if not isinstance(within, bool):
        raise TypeError(f"{WITHIN_ARCHITECTURE} must be true or false. Got {within!r} instead")
    if name == "hyperband":
        if within:
            raise ValueError(f"{WITHIN_ARCHITECTURE}: its brackets read the storage directly, so "
                             f"it cannot compare within an architecture; use median or "
                             f"successive_halving, or {WITHIN_ARCHITECTURE}: false")
        options = {"min_resource": 1, "max_resource": max_epochs, **options}
    pruner = PRUNERS[name](**options)
    return WithinArchitecture(pruner) if within else pruner
