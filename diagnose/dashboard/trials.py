"""A study's plateau trials, each with its diagnosis: what the study note and figures read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from diagnose.diagnosis import diagnose
from diagnose.findings import Diagnosis
from search.history import History

if TYPE_CHECKING:
    import optuna


@dataclass(frozen=True)
class DiagnosedTrial:
    number: int
    state: str  # COMPLETE, PRUNED, FAIL, ...
    value: float | None  # None: no value, or not a finite one
    history: History
    diagnosis: Diagnosis

    @property
    def hparams(self) -> dict[str, Any]:
        """Every resolved hyperparameter of the trial (searched or fixed)."""
        return self.history.facts.get("hparams", {})


def diagnosed_trials(study: optuna.Study
                     ) -> Iterator[tuple[optuna.trial.FrozenTrial, DiagnosedTrial]]:
    """The study's trials that plateau ran (they have a history), diagnosed, by number."""
    for frozen in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if "history" not in frozen.user_attrs:
            continue
        history = History.from_user_attrs(frozen.user_attrs)
        value = frozen.value if frozen.value is not None and math.isfinite(frozen.value) else None
        yield frozen, DiagnosedTrial(frozen.number, frozen.state.name, value, history,
                                     diagnose(history))
