"""Trials the pruner stopped, judged for what they are: cut short, not unable.

A trial pruned after 3 epochs has not had the time to fit its training data, to plateau or to learn
its minority classes, so "underfit", "imbalanced", "healthy" and "still improving" say nothing about
it. What does: evidence that does not depend on the run's length (a blow-up; a clear overfit, whose
rule already needs validation to have stalled), and how far behind the other trials it was at the
epoch it was stopped, which is what the pruner judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from diagnose.curves import Curves
from search.record.diagnosis import PRUNED, Finding
from search.record.measures import shown
from search.record.trial import TrialRecord

# The labels a pruned trial may still get, each for a reason that holds however short the run.
KEPT_WHEN_PRUNED = {
    "diverged": "a NaN or a blow-up is there at whatever epoch the run stops",
    "overfit": "its rule needs validation to have stalled while training pulled ahead",
}
# Notes that presume the run ran its course.
NOTES_DROPPED_WHEN_PRUNED = ("still_improving", "early_optimum")


@dataclass(frozen=True)
class Pruned:
    epoch: int  # the last epoch it ran: the pruner stopped it after this one
    metric: str  # the study's objective (a history column)
    maximize: bool
    peers: tuple[float, ...]  # the other trials' objective at that epoch
    within: str | None = None  # the architecture the pruner compared within (None: every trial)

    @classmethod
    def among(cls, record: TrialRecord, others: Iterable[TrialRecord]) -> Pruned | None:
        """The pruning of ``record``, with the other records' values at its epoch (those of its
        architecture's, when the pruner compared within it); None if the pruner did not stop it
        (or its study's objective is unknown)."""
        epoch, among = record.pruned_epoch, record.pruned_among
        if epoch is None or record.objective is None:
            return None
        peers = tuple(value for other in others if other.number != record.number
                      and (among is None or (other.hparams or {}).get("architecture") == among)
                      for value in [_at(other, record.objective, epoch)] if value is not None)
        return cls(epoch, record.objective, record.direction != "minimize", peers, among)

    def note(self, curves: Curves) -> Finding:
        """"pruned at epoch 3: val_macro_f1 0.21, 0.34 behind the median of the 5 other trials
        there (0.55)"."""
        rows = [r for r in curves.history.rows if r.get("epoch") == self.epoch]
        value = rows[-1].get(self.metric) if rows else None
        evidence = {"pruned_epoch": self.epoch, "metric": self.metric, "value": shown(value),
                    "other_trials_at_epoch": len(self.peers)}
        if value is None or not np.isfinite(value) or not self.peers:
            why = (f"no other {self.within + ' ' if self.within else ''}trial had reached that epoch"
                   if not self.peers
                   else f"it logged no {self.metric} there")
            return Finding(PRUNED, 1.0, f"pruned at epoch {self.epoch}: {why}", evidence,
                           epochs=(self.epoch,))
        median = float(np.median(self.peers))
        behind = (median - value) if self.maximize else (value - median)
        evidence.update(peers_median=shown(median), behind_median=shown(behind),
                        peers_best=shown(max(self.peers) if self.maximize else min(self.peers)))
        where = (f"{behind:.4f} behind" if behind >= 0 else
                 f"{-behind:.4f} ahead of") + f" the median of the {len(self.peers)} other " \
                                              f"{self.within + ' ' if self.within else ''}" \
                                              f"trial{'s' if len(self.peers) > 1 else ''} there"
        return Finding(PRUNED, 1.0, f"pruned at epoch {self.epoch}: {self.metric} {value:.4f}, "
                                    f"{where} ({median:.4f})", evidence, epochs=(self.epoch,))


def _at(record: TrialRecord, metric: str, epoch: int) -> float | None:
    for row in record.history.rows:
        if row.get("epoch") == epoch:
            value = row.get(metric)
            return float(value) if value is not None and np.isfinite(value) else None
    return None
