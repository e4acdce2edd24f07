"""What a diagnosis says: labels, and for each the evidence behind it and the fixes to try.

A ``Diagnosis`` is plain data: the rules (``diagnose.rules``) produce it from a ``History``; the text
verdict, the JSON output, the HTML report and the dashboard notes only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from diagnose.fixes import Fix

# The labels a run can get. `healthy` only alone; `diverged` takes precedence over `underfit`.
LABELS = ("overfit", "underfit", "imbalanced", "diverged", "healthy")


@dataclass(frozen=True)
class Finding:
    """One rule that fired: a label (or, for a secondary note, the note's name) and why."""

    label: str
    confidence: float  # 0..1: how far past its threshold the evidence is
    summary: str  # one sentence for people, with the numbers
    evidence: dict[str, Any]  # measured quantities and the thresholds they were compared with
    fixes: tuple[Fix, ...] = ()  # ordered: try the first one first
    epochs: tuple[int, ...] = ()  # the epochs the evidence points at (marked on the report's curves)

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": round(self.confidence, 3),
                "summary": self.summary, "evidence": self.evidence,
                "epochs": list(self.epochs), "fixes": [fix.to_json() for fix in self.fixes]}


@dataclass(frozen=True)
class Diagnosis:
    labels: tuple[str, ...]  # a subset of LABELS; empty when nothing could be judged
    findings: tuple[Finding, ...]  # one per label except healthy, in the order of `labels`
    notes: tuple[Finding, ...] = ()  # secondary findings (train longer, lower the lr, ...)
    not_judged: dict[str, str] = field(default_factory=dict)  # rule -> why it could not be judged

    def to_json(self) -> dict[str, Any]:
        return {"labels": list(self.labels),
                "findings": [f.to_json() for f in self.findings],
                "notes": [n.to_json() for n in self.notes],
                "not_judged": dict(self.not_judged)}
