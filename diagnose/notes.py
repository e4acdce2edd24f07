"""Secondary findings: observations with a fix of their own that never change a run's labels.

Each returns a ``Finding`` (named for the observation, with its evidence) or None.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from diagnose import criteria as c
from diagnose.curves import Curves, blown_up
from diagnose.fixes import FIXES
from search.record.diagnosis import Finding, Fix
from search.record.measures import best_index


def _fix(label: str, name: str) -> tuple[Fix, ...]:
    return tuple(fix for fix in FIXES[label] if fix.name == name)


def _monitored(curves: Curves) -> tuple[str, bool] | None:
    """The metric to watch: the run's objective (what its plateau rule and pruner watched), else
    validation accuracy when logged (maximised), else validation loss (minimised)."""
    if curves.objective is not None and curves.has(curves.objective[0]):
        return curves.objective
    if curves.has("val_accuracy"):
        return "val_accuracy", True
    if curves.has("val_loss"):
        return "val_loss", False
    return None


def still_improving(curves: Curves) -> Finding | None:
    """The validation metric was still improving over the last part of the run: train longer. Both
    the smoothed curve and the raw values must have risen over that part (a smoothed curve still
    climbs for a while after the raw values have fallen)."""
    monitored = _monitored(curves)
    if monitored is None or curves.n < c.MIN_EPOCHS:
        return None
    column, maximize = monitored
    window = max(2, int(round(c.STALL_FRACTION * curves.n)))
    gain = _gain(curves.smoothed(column), window, maximize)
    raw_gain = _gain(curves.raw(column), window, maximize)
    if not (np.isfinite(gain) and gain > c.IMPROVING_MIN_DELTA
            and np.isfinite(raw_gain) and raw_gain > c.IMPROVING_MIN_DELTA):
        return None
    return Finding("still_improving", 0.5 + 0.5 * min(1.0, gain / 0.05),
                   f"{column} improved by {gain:.3g} smoothed ({raw_gain:.3g} raw)"
                   f"{'' if maximize else ', relative'} over the last {window} epochs: the run "
                   f"ended before it plateaued",
                   {"metric": column, "gain": round(float(gain), 4),
                    "raw_gain": round(float(raw_gain), 4), "window_epochs": window,
                    "min_delta": c.IMPROVING_MIN_DELTA},
                   _fix("underfit", "train_longer"), epochs=(curves.epoch_at(curves.n - 1),))


def _gain(values: np.ndarray, window: int, maximize: bool) -> float:
    """How much ``values`` improved over their last ``window`` epochs (relative for a loss)."""
    before, end = values[-1 - window], values[-1]
    return float((end - before) if maximize else (before - end) / abs(before) if before else 0.0)


def early_optimum(curves: Curves) -> Finding | None:
    """The best validation epoch is far before the last one: stop earlier."""
    monitored = _monitored(curves)
    if monitored is None or curves.n < c.MIN_EPOCHS:
        return None
    column, maximize = monitored
    best = best_index(curves.smoothed(column), maximize)
    if best is None or curves.n - 1 - best < max(c.STALL_MIN_EPOCHS, 0.3 * curves.n):
        return None
    return Finding("early_optimum", 0.5 + 0.5 * (curves.n - 1 - best) / curves.n,
                   f"{column} was best at epoch {curves.epoch_at(best)} of {curves.epoch_at(-1)}: "
                   f"the last {curves.n - 1 - best} epochs added nothing",
                   {"metric": column, "best_epoch": curves.epoch_at(best),
                    "last_epoch": curves.epoch_at(curves.n - 1)},
                   _fix("overfit", "early_stopping"), epochs=(curves.epoch_at(best),))


def oscillating(curves: Curves) -> Finding | None:
    """The training loss keeps going up and down by large steps: the learning rate is too high."""
    loss = curves.raw("train_loss")
    loss = loss[np.isfinite(loss)]
    if len(loss) < 2 * c.MIN_EPOCHS:
        return None
    steps = np.diff(loss)
    turns = float(np.mean(np.sign(steps[1:]) != np.sign(steps[:-1])))
    # Step size against the loss's whole range: a converged loss wiggling by 0.005 near 0.05 is
    # not oscillating, however large that is against its level.
    size = float(np.median(np.abs(steps)) / max(np.ptp(loss), 1e-12))
    if not (turns >= c.OSCILLATION_TURNS and size >= c.OSCILLATION_STEP):
        return None
    return Finding("oscillating", 0.5 + 0.5 * min(1.0, size / (4 * c.OSCILLATION_STEP)),
                   f"the training loss changed direction in {turns:.0%} of the epochs, by a median "
                   f"{size:.0%} of its range",
                   {"direction_changes": round(turns, 3), "median_relative_step": round(size, 3),
                    "turns_threshold": c.OSCILLATION_TURNS, "step_threshold": c.OSCILLATION_STEP},
                   _fix("diverged", "lower_learning_rate"))


def loss_spike(curves: Curves) -> Finding | None:
    """The loss blew up at some epoch but the run recovered (else it is `diverged`)."""
    loss = curves.raw("train_loss")
    spikes = np.flatnonzero(blown_up(loss) & (np.arange(len(loss)) > 0))
    if len(spikes) == 0:
        return None
    epochs = tuple(curves.epoch_at(i) for i in spikes)
    return Finding("loss_spike", 0.6, f"the training loss spiked at epoch(s) {list(epochs)} and "
                   f"recovered", {"spike_epochs": list(epochs),
                                  "spike_losses": [float(loss[i]) for i in spikes]},
                   _fix("diverged", "gradient_clipping"), epochs=epochs)


NOTES: Mapping[str, Callable[[Curves], Finding | None]] = {
    "still_improving": still_improving,
    "early_optimum": early_optimum,
    "oscillating": oscillating,
    "loss_spike": loss_spike,
}
