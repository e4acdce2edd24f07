"""The rendering model of a diagnosis: what every rendering of it shows, in order, as strings.

The text, markdown and HTML renderers only lay these out; which fixes are listed, how a number of
evidence is written and what a note's first fix is are decided here, once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from search.record.diagnosis import Diagnosis, Finding, Fix


@dataclass(frozen=True)
class FixLine:
    number: int  # 1-based: the order to try it in
    name: str
    change: str  # the study-file change, in words (or the framework's advice, or what was explored)
    reason: str
    edits: tuple[str, ...] = ()  # each study-file change on its own (none: ``change`` is prose)


@dataclass(frozen=True)
class FindingView:
    label: str
    confidence: str  # "0.83"
    summary: str
    evidence: tuple[tuple[str, str], ...]  # (measurement or threshold, value as shown)
    fixes: tuple[FixLine, ...]  # the first ``max_fixes``
    more: tuple[str, ...]  # names of the fixes left out

    @property
    def heading(self) -> str:
        return f"{self.label} (confidence {self.confidence})"


@dataclass(frozen=True)
class NoteView:
    label: str
    summary: str
    fix: FixLine | None  # the note's one fix


@dataclass(frozen=True)
class DiagnosisView:
    labels: str  # "overfit, imbalanced", "healthy" or "not judged"
    findings: tuple[FindingView, ...]
    notes: tuple[NoteView, ...]
    not_judged: tuple[tuple[str, str], ...]  # (rule, why it could not judge)
    every_fix: tuple[tuple[str, FixLine], ...]  # (finding or note label, fix): all, none left out


def shown_value(value: Any) -> str:
    """An evidence value as written: numbers to 4 significant digits, anything else as it is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def fix_lines(fixes: Iterable[Fix]) -> tuple[FixLine, ...]:
    """Fixes numbered in the order to try them."""
    return tuple(FixLine(i, fix.name, fix.text(), fix.reason,
                         () if fix.advice or fix.explored else tuple(c.text() for c in fix.changes))
                 for i, fix in enumerate(fixes, 1))


def _finding(finding: Finding, max_fixes: int | None) -> FindingView:
    listed = finding.fixes if max_fixes is None else finding.fixes[:max_fixes]
    return FindingView(finding.label, f"{finding.confidence:.2f}", finding.summary,
                       tuple((key, shown_value(value)) for key, value in finding.evidence.items()),
                       fix_lines(listed), tuple(fix.name for fix in finding.fixes[len(listed):]))


def view(diagnosis: Diagnosis, max_fixes: int | None = None) -> DiagnosisView:
    """The model of ``diagnosis``, listing at most ``max_fixes`` fixes per finding."""
    notes = tuple(NoteView(n.label, n.summary, fix_lines(n.fixes[:1])[0] if n.fixes else None)
                  for n in diagnosis.notes)
    every = tuple((f.label, line) for f in (*diagnosis.findings, *diagnosis.notes)
                  for line in fix_lines(f.fixes))
    return DiagnosisView(diagnosis.label_text,
                         tuple(_finding(f, max_fixes) for f in diagnosis.findings), notes,
                         tuple(diagnosis.not_judged.items()), every)


def label_counts(diagnoses: Iterable[Diagnosis]) -> list[tuple[str, int]]:
    """How many runs got each verdict (a label, "pruned" or "not judged"), most common first."""
    return Counter(label for d in diagnoses for label in d.verdicts).most_common()


def counts_text(counts: list[tuple[str, int]], runs: int) -> str:
    """"underfit 8, imbalanced 6", saying so when the counts add up to more than the ``runs``."""
    text = ", ".join(f"{label} {n}" for label, n in counts)
    if sum(n for _, n in counts) > runs:
        text += " (a trial can have more than one label)"
    return text
