"""Pruning that compares a trial only with trials of its own architecture.

Optuna's pruners judge a trial by where its intermediate value stands among the other trials' at
the same step. In a space of several model families that is unfair to a slow starter: a ConvLSTM
still at chance after its first epochs is "behind" a 3D CNN that learns at once, and is pruned
before it could take off (the default study once lost 4 of its 5 ConvLSTM trials that way, at
epoch 1, so its question "ConvLSTM or 3D CNN?" was answered by the pruner, not by training).

``WithinArchitecture`` gives the pruner it wraps a view of the study that holds only the trials of
the trial's own architecture (its ``architecture`` parameter; a space with one architecture has
no such parameter, and every trial is then in one group). Optuna's median, percentile and
successive-halving pruners read the study only through ``get_trials`` and ``direction`` (and
successive halving writes its rungs to the trial through the storage), so they work unchanged on
the view. Hyperband does not: its brackets read the storage directly, so it cannot be wrapped
(``search.samplers.build_pruner`` says so).
"""

from __future__ import annotations

from typing import Any, Container

import optuna
from optuna.trial import FrozenTrial, TrialState

from search.record.trial import PRUNED_AMONG

GROUP_PARAM = "architecture"


class _SameGroup:
    """The study, seen through ``get_trials`` as only the trials whose ``GROUP_PARAM`` is
    ``value``; everything else is the study's own."""

    def __init__(self, study: optuna.Study, value: Any):
        self._study, self._value = study, value

    def get_trials(self, deepcopy: bool = True,
                   states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return [t for t in self._study.get_trials(deepcopy=deepcopy, states=states)
                if t.params.get(GROUP_PARAM) == self._value]

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


class WithinArchitecture(optuna.pruners.BasePruner):
    """Prune as ``pruner`` would in a study of this trial's architecture alone."""

    def __init__(self, pruner: optuna.pruners.BasePruner):
        self.pruner = pruner

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return self.pruner.prune(_SameGroup(study, trial.params.get(GROUP_PARAM)), trial)


def describe(pruner: optuna.pruners.BasePruner, params: dict[str, Any]) -> str:
    """What pruned a trial with ``params``, for its stop reason: "MedianPruner among the
    convlstm trials", or the pruner's class name."""
    if isinstance(pruner, WithinArchitecture):
        inner = type(pruner.pruner).__name__
        return (f"{inner} {PRUNED_AMONG.format(params[GROUP_PARAM])}" if GROUP_PARAM in params
                else inner)
    return type(pruner).__name__
