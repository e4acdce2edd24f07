"""The plateau rule: stop a trial whose objective has stopped improving (Keras EarlyStopping).

Keras semantics (keras.callbacks.EarlyStopping): from epoch ``warmup_epochs`` on (Keras'
``start_from_epoch``), an epoch improves on the best so far only if it beats it by more than
``min_delta``; training stops once ``patience`` epochs in a row have not. Epochs before the warm-up
are not monitored at all: early epochs of a small model on a small validation set are noisy, and
the flat stretch before a model "takes off" is common.

A pure function of the objective's values so far, so it is trivially testable and needs no state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

# Defaults that "auto" resolves to, as fractions of max_epochs. See the README ("The plateau rule",
# "Search defaults") for the runs on digits and the synthetic gestures that chose them: patience 8
# of 20 epochs is the shortest that kept every random-search run's best model of the demo study
# (bench/pruning_replay.py; 5, a quarter, cut one at 0.87 that went on to 0.926).
AUTO_PATIENCE_FRACTION = 0.4
AUTO_PATIENCE_MIN = 3
AUTO_WARMUP_FRACTION = 0.25


@dataclass(frozen=True)
class EarlyStopping:
    patience: int  # epochs without improvement before stopping (Keras ``patience``)
    min_delta: float  # an improvement must exceed this (Keras ``min_delta``), in the metric's units
    warmup_epochs: int  # epochs before monitoring starts (Keras ``start_from_epoch``)

    @classmethod
    def auto(cls, max_epochs: int, min_delta: float = 0.0) -> EarlyStopping:
        """Patience and warm-up scaled to the budget: 40% and a quarter of max_epochs (patience
        >= 3)."""
        return cls(
            patience=max(AUTO_PATIENCE_MIN, math.ceil(AUTO_PATIENCE_FRACTION * max_epochs)),
            min_delta=min_delta,
            warmup_epochs=math.floor(AUTO_WARMUP_FRACTION * max_epochs),
        )

    def should_stop(self, values: Sequence[float], maximize: bool) -> bool:
        """Whether training should stop after the last of ``values`` (one per epoch so far)."""
        best: float | None = None
        wait = 0
        for epoch, value in enumerate(values):
            if epoch < self.warmup_epochs:
                continue
            if best is None or (value - best if maximize else best - value) > self.min_delta:
                best, wait = value, 0
            else:  # no improvement (a NaN never improves, as in Keras)
                wait += 1
        return wait >= self.patience
