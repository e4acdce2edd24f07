"""What a study as a whole shows, beyond any one of its trials.

- a choice (an architecture, a loss, an optimizer) whose trials were all pruned or failed: the study
  spends trials on it for nothing;
- the verdicts of its best trials: what holds the study back;
- how the fixes it already searches did, instead of proposing them again: "focal loss was searched:
  7 of 24 trials tried it; the best of them, #12, reached val_macro_f1 0.83 (the study's best, #5:
  0.9)".

The study note (``diagnose.dashboard.notes``) and ``run_study.py diagnose --study`` show these lines;
a trial's explored fixes get the same sentence (``with_explored``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Sequence

from diagnose.fixes import TRIED, tries
from search.record.diagnosis import Diagnosis, Finding
from search.record.measures import plural
from search.record.trial import TrialRecord, ranked

TOP_K = 5  # the best completed trials whose verdicts are counted
MIN_CHOICE_TRIALS = 2  # a choice tried fewer times than this says nothing about itself
ENDED_EARLY = {"PRUNED": "pruned", "FAIL": "failed"}  # Optuna's state -> how the note says it


def _value(record: TrialRecord) -> str:
    return f"{record.value:.4g}" if record.value is not None else "none"


def explored_result(fix: str, records: Sequence[TrialRecord], maximize: bool, metric: str) -> str:
    """How the trials that tried ``fix`` (one of ``fixes.TRIED``) did, in one sentence."""
    words = TRIED[fix][2]
    tried = [r for r in records if tries(fix, r.hparams)]
    if not tried:
        return f"{words} is searched, but no trial has tried it yet"
    done = ranked(tried, maximize)
    head = f"{words} was searched: {len(tried)} of {plural(len(records), 'trial')} tried it"
    if not done:
        return f"{head}, and none of them completed"
    best, overall = done[0], ranked(list(records), maximize)[0]
    if best.number == overall.number:
        return (f"{head}; the best of them, #{best.number}, is the study's best ({metric} "
                f"{_value(best)})")
    return (f"{head}; the best of them, #{best.number}, reached {metric} {_value(best)} (the "
            f"study's best, #{overall.number}: {_value(overall)})")


def explores(record: TrialRecord) -> bool:
    """Whether a fix of ``record``'s diagnosis is one its study already explored."""
    diagnosis = record.diagnosis
    return diagnosis is not None and any(
        fix.explored for finding in (*diagnosis.findings, *diagnosis.notes) for fix in finding.fixes)


def with_explored(records: Sequence[TrialRecord], maximize: bool,
                  metric: str) -> list[TrialRecord]:
    """The records with each explored fix of their diagnoses saying how the study's trials that
    tried it did (``explored_result``)."""
    def told(finding: Finding) -> Finding:
        return dataclasses.replace(finding, fixes=tuple(
            dataclasses.replace(fix, explored=explored_result(fix.name, records, maximize, metric))
            if fix.explored and fix.name in TRIED else fix for fix in finding.fixes))

    def diagnosis(d: Diagnosis) -> Diagnosis:
        return dataclasses.replace(d, findings=tuple(map(told, d.findings)),
                                   notes=tuple(map(told, d.notes)))

    return [dataclasses.replace(r, diagnosis=diagnosis(r.diagnosis)) if r.diagnosis else r
            for r in records]


def dead_choices(records: Sequence[TrialRecord]) -> list[str]:
    """"all 5 trials with architecture convlstm were pruned (at epochs 1, 1, 1, 3, 3)": each
    categorical choice tried ``MIN_CHOICE_TRIALS`` times or more whose trials all ended early,
    while other choices of the same hyperparameter completed."""
    lines = []
    params = sorted({p for r in records for p, v in r.hparams.items() if isinstance(v, str)})
    for param in params:
        by_value: dict[str, list[TrialRecord]] = {}
        for record in records:
            value = record.hparams.get(param)
            if isinstance(value, str):
                by_value.setdefault(value, []).append(record)
        if len(by_value) < 2:
            continue
        for value, group in sorted(by_value.items()):
            others = [r for v, g in by_value.items() if v != value for r in g]
            if (len(group) < MIN_CHOICE_TRIALS or any(r.state not in ENDED_EARLY for r in group)
                    or not any(r.state == "COMPLETE" for r in others)):
                continue
            epochs = sorted(r.pruned_epoch for r in group if r.pruned_epoch is not None)
            at = f" (at epoch{'s' if len(epochs) > 1 else ''} {', '.join(map(str, epochs))})" \
                if epochs else ""
            states = " or ".join(sorted({ENDED_EARLY[r.state] for r in group}))
            lines.append(f"all {plural(len(group), 'trial')} with {param} {value} were {states}"
                         f"{at}, while other {param} choices completed: drop it from the space, or "
                         f"give it more epochs before pruning (a pruner warm-up)")
    return lines


def best_verdicts(best: Sequence[TrialRecord]) -> str | None:
    """"the 5 best trials: overfit 4, healthy 1" for the ``best`` trials; None for fewer than two
    (the note names the best trial's diagnosis already)."""
    if len(best) < 2:
        return None
    counts = Counter(v for r in best if r.diagnosis for v in r.diagnosis.verdicts).most_common()
    return f"the {plural(len(best), 'best trial')}: " + ", ".join(f"{label} {n}"
                                                                  for label, n in counts)


def explored_lines(best: Sequence[TrialRecord], records: Sequence[TrialRecord], maximize: bool,
                   metric: str) -> list[str]:
    """How each fix of the ``best`` trials' findings that the study already searches did."""
    names = [fix.name for r in best if r.diagnosis for finding in r.diagnosis.findings
             for fix in finding.fixes if fix.explored and fix.name in TRIED]
    return [explored_result(name, records, maximize, metric) for name in dict.fromkeys(names)]


def overview(records: Sequence[TrialRecord], maximize: bool, metric: str) -> list[str]:
    """The lines of what the study as a whole shows (empty when it shows nothing yet)."""
    best = ranked(list(records), maximize)[:TOP_K]
    verdicts = best_verdicts(best)
    if verdicts is None:
        return dead_choices(records)
    return [*dead_choices(records), verdicts, *explored_lines(best, records, maximize, metric)]
