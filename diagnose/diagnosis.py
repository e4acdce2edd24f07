"""``diagnose(history)``: run every rule and note, settle the labels, attach the fixes; and
``diagnosed(records)``: stored trials with their diagnosis, computed only where none was stored."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from diagnose.criteria import (LOSS_STILL_FALLING, STALL_FRACTION, STUCK_LOSS_MOVE, TINY_LR,
                               UNDERFIT_ACCURACY)
from diagnose.curves import Curves
from diagnose.fixes import FIXES, tailored
from diagnose.notes import NOTES
from diagnose.pruned import KEPT_WHEN_PRUNED, NOTES_DROPPED_WHEN_PRUNED, Pruned
from diagnose.rules import RULES, NotJudged
from search.record.diagnosis import LABELS, Diagnosis, Finding, Fix
from search.record.history import History
from search.record.measures import end_value, shown
from search.record.trial import PLATEAU_STOP, TrialRecord

def _majority_fitted(imbalanced: Finding) -> bool:
    evidence = imbalanced.evidence
    return (evidence.get("majority_mean_recall", 0.0) >= UNDERFIT_ACCURACY
            or bool(evidence.get("collapsed_onto_majority")))


# (label, the label it removes, when, why): where two rules fire on one cause, the one that names it.
SUPERSEDES: tuple[tuple[str, str, Callable[[Finding], bool], str], ...] = (
    ("diverged", "overfit", lambda finding: True,
     "once the loss blew up, the loss ratio and the accuracy gap measure the blow-up, not a fit"),
    ("diverged", "underfit", lambda finding: True,
     "a blown-up run fits nothing; underfit would prescribe capacity"),
    ("imbalanced", "underfit", _majority_fitted,
     "the majority classes are fitted, or the model collapsed onto the largest one: the accuracy "
     "lost is the minority classes', and the imbalance fixes are the ones that apply"),
)


def _settled(fired: dict[str, Finding]) -> dict[str, Finding]:
    """The fired findings less those another one supersedes (``SUPERSEDES``)."""
    removed = {loser for winner, loser, when, _ in SUPERSEDES
               if winner in fired and loser in fired and when(fired[winner])}
    return {name: finding for name, finding in fired.items() if name not in removed}


# Labels a run needs judged before it may be called healthy. Imbalance is not among them: logs
# rarely carry per-class results, and without them imbalance is never claimed either way.
REQUIRED_FOR_HEALTHY = ("diverged", "overfit", "underfit")


@dataclass(frozen=True)
class RunContext:
    """What a run's history does not say by itself: what it optimised and how it stopped. A log
    outside any study has none of it."""

    objective: str | None = None  # the history column the run optimised
    maximize: bool = True
    plateaued: bool = False  # the plateau rule stopped it: no note may say it had not plateaued
    pruned: Pruned | None = None  # the pruner stopped it (diagnose.pruned)
    study: Mapping[str, Any] | None = None  # its study file's content: fixes change only what is not so
    hparams: Mapping[str, Any] | None = None  # the trial's: ranges move away from where it was
    reached: float | None = None  # the best accuracy the study's earlier trials ended at (fitted())

    @classmethod
    def of(cls, record: TrialRecord, pruned: Pruned | None = None,
           study: Mapping[str, Any] | None = None,
           others: Iterable[TrialRecord] = ()) -> RunContext:
        reached = [value for other in others if other.number < record.number  # ended before it
                   for value in [fitted(other.history)] if value is not None]
        return cls(record.objective, record.direction != "minimize",
                   (record.stop_reason or "").startswith(PLATEAU_STOP), pruned, study,
                   record.hparams, max(reached) if reached else None)


def fitted(history: History) -> float | None:
    """The better of where the training and validation accuracy curves end (what underfit judges);
    None without either."""
    ends = [end_value(history.column(column)) for column in ("train_accuracy", "val_accuracy")]
    ends = [end for end in ends if np.isfinite(end)]
    return max(ends) if ends else None


def _against_study(fired: dict[str, Finding], reached: float | None) -> dict[str, Finding]:
    """An underfit finding judged also against the study's trials that ended before it
    (``ACCURACY_MARGIN``): a borderline one is dropped when none of them ended above the line; the
    others are told what the study had reached by then (a stored diagnosis is not rewritten as
    later trials end)."""
    finding = fired.get("underfit")
    if finding is None or reached is None or "borderline" not in finding.evidence:
        return fired
    if finding.evidence["borderline"] and reached < UNDERFIT_ACCURACY:
        return {name: f for name, f in fired.items() if name != "underfit"}
    told = (f"; another trial of this study had ended at {reached:.4g} by then"
            if reached >= UNDERFIT_ACCURACY else
            f"; no trial of this study had ended above {reached:.4g} by then: the data or the task "
            f"may be the limit")
    return {**fired, "underfit": dataclasses.replace(
        finding, summary=finding.summary + told,
        evidence={**finding.evidence, "study_best_accuracy": shown(reached)})}


def diagnose(history: History, context: RunContext = RunContext()) -> Diagnosis:
    """The diagnosis of a run: its labels with their fixes, its notes, and what was not judged."""
    objective = (context.objective, context.maximize) if context.objective else None
    curves = Curves(history, objective)
    results = {name: rule(curves) for name, rule in RULES.items()}
    pruned = context.pruned
    if pruned is not None:  # cut short: only the labels whose evidence does not need a full run
        results = {name: r if name in KEPT_WHEN_PRUNED else NotJudged(
            f"the pruner stopped the trial at epoch {pruned.epoch}: a run cut short is not judged "
            f"{name}") for name, r in results.items()}
    fired = _settled(_against_study({name: r for name, r in results.items()
                                     if isinstance(r, Finding)}, context.reached))
    not_judged = {name: r.reason for name, r in results.items() if isinstance(r, NotJudged)}

    findings = tuple(_with_fixes(fired[label], curves, context) for label in LABELS
                     if label in fired)
    labels = tuple(f.label for f in findings)
    if not labels and not any(name in not_judged for name in REQUIRED_FOR_HEALTHY):
        labels = ("healthy",)

    notes = tuple(note for note in (check(curves) for check in NOTES.values()) if note is not None)
    if "diverged" in fired:  # after a blow-up only the oscillation is worth a note of its own
        notes = tuple(n for n in notes if n.label == "oscillating")
    if context.plateaued:  # stopped on plateau: it had plateaued, whatever a curve suggests
        notes = tuple(n for n in notes if n.label != "still_improving")
    notes = tuple(dataclasses.replace(n, fixes=tailored(n.fixes, context.study, context.hparams))
                  for n in notes)
    if pruned is not None:
        notes = (pruned.note(curves),
                 *(n for n in notes if n.label not in NOTES_DROPPED_WHEN_PRUNED))
    return Diagnosis(labels, findings, notes, not_judged)


def diagnosed(records: Iterable[TrialRecord],
              study: Mapping[str, Any] | None = None) -> list[TrialRecord]:
    """Each record with its diagnosis: the one stored as the trial ended, else (a trial stored before
    plateau stored diagnoses, or one that never ended) diagnosed now from its history, with fixes
    tailored to ``study`` (the study file's content) when given."""
    records = list(records)
    return [record if record.diagnosis is not None
            else dataclasses.replace(record, diagnosis=diagnose(
                record.history, RunContext.of(record, Pruned.among(record, records), study,
                                              records)))
            for record in records]


def _with_fixes(finding: Finding, curves: Curves, context: RunContext) -> Finding:
    fixes: tuple[Fix, ...] = tailored(FIXES[finding.label], context.study, context.hparams)
    if finding.label == "underfit" and _still_falling(curves):
        # Learning too slowly rather than unable to learn: step size and time before capacity.
        first = ("learning_rate", "train_longer")
        fixes = tuple(sorted(fixes, key=lambda f: first.index(f.name) if f.name in first else 2))
    elif finding.label == "underfit" and _stuck_from_start(curves):
        lr = (context.hparams or {}).get("lr")
        if isinstance(lr, (int, float)) and lr <= TINY_LR:  # a tiny step: its rate first
            fixes = tuple(sorted((f for f in fixes if f.name != "train_longer"),
                                 key=lambda f: f.name != "learning_rate"))
        else:  # nothing says "step too small"
            fixes = tuple(f for f in fixes if f.name not in ("learning_rate", "train_longer"))
    elif finding.label == "underfit":  # it has plateaued: more epochs of the same will not help
        fixes = tuple(sorted(fixes, key=lambda f: f.name == "train_longer"))
    return dataclasses.replace(finding, fixes=fixes)


def _stuck_from_start(curves: Curves) -> bool:
    """Whether the training loss never moved more than ``STUCK_LOSS_MOVE`` from its first value."""
    loss = curves.raw("train_loss")
    loss = loss[np.isfinite(loss)]
    if len(loss) < 2 or loss[0] <= 0:
        return False
    return bool(np.max(np.abs(loss / loss[0] - 1)) <= STUCK_LOSS_MOVE)


def _still_falling(curves: Curves) -> bool:
    """Whether the training loss was still falling at the end, by more than
    ``LOSS_STILL_FALLING`` over the last part of the run (it has not plateaued)."""
    loss = curves.raw("train_loss")
    loss = loss[np.isfinite(loss)]
    window = max(2, int(round(STALL_FRACTION * len(loss))))
    if len(loss) <= window:
        return False
    return bool(loss[-1] < (1 - LOSS_STILL_FALLING) * loss[-1 - window])
