"""A run's curves as numpy arrays, smoothed, with the few measurements the rules are made of."""

from __future__ import annotations

import numpy as np

from diagnose.criteria import BLOWUP_LOSS, EXPLOSION_FACTOR, SMOOTHING
from search.record import measures
from search.record.history import History


def smooth(values: np.ndarray, weight: float = SMOOTHING) -> np.ndarray:
    """TensorBoard's smoothing: a debiased exponential moving average that skips missing (NaN) and
    non-finite points instead of spreading them."""
    out = np.full(len(values), np.nan)
    last, debias = 0.0, 0.0
    for i, value in enumerate(values):
        if np.isfinite(value):
            last = weight * last + (1 - weight) * value
            debias = weight * debias + (1 - weight)
        if debias > 0:
            out[i] = last / debias
    return out


class Curves:
    """A run's curves as arrays (NaN where an epoch lacks a value), computed once per column."""

    def __init__(self, history: History, objective: tuple[str, bool] | None = None):
        self.history = history
        self.objective = objective  # (column, maximize) the run optimised, when known
        self.n = len(history.rows)
        self._raw: dict[str, np.ndarray] = {}
        self._smoothed: dict[str, np.ndarray] = {}
        epochs = self.raw("epoch")
        self.epochs = epochs if np.isfinite(epochs).all() else np.arange(1, self.n + 1.0)

    def raw(self, column: str) -> np.ndarray:
        if column not in self._raw:
            self._raw[column] = measures.as_array(self.history.column(column))
        return self._raw[column]

    def has(self, column: str) -> bool:
        """Whether any epoch logged a value (finite or not) for ``column``."""
        return any(v is not None for v in self.history.column(column))

    def nonfinite(self, column: str) -> np.ndarray:
        """Epochs whose logged value is NaN or infinite (a missing value is not non-finite)."""
        return np.array([v is not None and not np.isfinite(v) for v in self.history.column(column)],
                        dtype=bool)

    def smoothed(self, column: str) -> np.ndarray:
        if column not in self._smoothed:
            self._smoothed[column] = smooth(self.raw(column))
        return self._smoothed[column]

    def end(self, column: str) -> float:
        """Where the curve ends (``measures.end_value``: the median of its last finite values)."""
        return measures.end_value(self.raw(column))

    def last(self, column: str) -> float:
        """The raw value at the last epoch that has a finite one (NaN if none)."""
        return measures.last_value(self.raw(column))

    def gap(self) -> float:
        """The generalization gap as it is shown everywhere (``measures.generalization_gap``)."""
        return measures.generalization_gap(self.history)

    def epoch_at(self, index: int) -> int:
        return int(self.epochs[index])


def generalization_loss(val_loss: np.ndarray) -> np.ndarray:
    """Prechelt's GL(t) = 100 * (E_va(t) / E_opt(t) - 1), E_opt the lowest validation loss so far."""
    best = np.fmin.accumulate(np.where(np.isfinite(val_loss), val_loss, np.inf))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100.0 * (val_loss / best - 1.0)


def blown_up(loss: np.ndarray) -> np.ndarray:
    """Epochs whose loss is above BLOWUP_LOSS nats, or (after the first) EXPLOSION_FACTOR times the
    first epoch's: far above where a classifier's loss starts."""
    finite = np.isfinite(loss)
    if not finite.any():
        return np.zeros(len(loss), dtype=bool)
    first = loss[finite][0]
    later = np.arange(len(loss)) > 0
    return finite & ((loss >= BLOWUP_LOSS) | (later & (loss >= EXPLOSION_FACTOR * first)))
