"""Optuna samplers and pruners by the names a study file uses.

Options in the study file are passed to the Optuna class as keyword arguments, so every option of
Optuna's own classes is available (``sampler: {name: tpe, multivariate: true}``); an option the class
does not take is a one-line error at load time.
"""

from __future__ import annotations

import types
from typing import Any, Mapping

import optuna

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


def build_sampler(name: str, options: Mapping[str, Any], seed: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS[name](seed=seed, **options)


def build_pruner(name: str, options: Mapping[str, Any], max_epochs: int) -> optuna.pruners.BasePruner:
    if name == "hyperband":
        options = {"min_resource": 1, "max_resource": max_epochs, **options}
    return PRUNERS[name](**options)
