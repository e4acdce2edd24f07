"""What a diagnosis says, as data: labels, and for each the evidence behind it and the fixes to try.

``diagnose/`` computes a ``Diagnosis`` from a ``History`` (its rules and fix table live there); a
trial stores it once, as it ends (``search.record.trial``), and every reader renders the stored one.
Plain data with a JSON form, so that it survives the storage unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

DIAGNOSIS_FORMAT = 3  # bump when the stored layout changes; an older stored diagnosis is recomputed

# The labels a run can get. `healthy` only alone; `diverged` takes precedence over `underfit`.
LABELS = ("overfit", "underfit", "imbalanced", "diverged", "healthy")
PRUNED = "pruned"  # the verdict of a trial the pruner stopped that no label fits
NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class Change:
    """One edit of a study file: ``op`` is "set", "include" or "scale"; ``key`` a dotted path."""

    op: str
    key: str
    value: Any

    def text(self) -> str:
        if self.op == "set":
            return f"{self.key}: {_spec_text(self.value)}"
        if self.op == "include":
            return f"{self.key}: also try {', '.join(map(str, self.value))}"
        return f"{self.key}: x{self.value:g}"

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "key": self.key, "value": self.value}


def _spec_text(value: Any) -> str:
    if isinstance(value, dict) and "low" in value:
        scale = " (log scale)" if value.get("log") else ""
        return f"search [{value['low']:g}, {value['high']:g}]{scale}"
    if isinstance(value, dict) and "choices" in value:
        return f"choose from [{', '.join(map(str, value['choices']))}]"
    return f"set to {value}"


@dataclass(frozen=True)
class Fix:
    name: str
    reason: str  # one line: why it helps, with its source
    changes: tuple[Change, ...] = ()  # empty: a step outside the search space (stated in `reason`)
    advice: str | None = None  # for a run outside any study: the change in its framework's words
    # the study already searches it: what it searched, and (with the study's trials) how they did
    explored: str | None = None

    def text(self) -> str:
        return self.advice or self.explored or "; ".join(
            change.text() for change in self.changes) or "(outside the search space)"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "reason": self.reason, "change": self.text(),
                "changes": [change.to_json() for change in self.changes],
                **({"advice": self.advice} if self.advice else {}),
                **({"explored": self.explored} if self.explored else {})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fix:
        return cls(data["name"], data["reason"],
                   tuple(Change(c["op"], c["key"], c["value"]) for c in data["changes"]),
                   data.get("advice"), data.get("explored"))


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
        return {"label": self.label, "confidence": self.confidence,
                "summary": self.summary, "evidence": self.evidence,
                "epochs": list(self.epochs), "fixes": [fix.to_json() for fix in self.fixes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(data["label"], data["confidence"], data["summary"], dict(data["evidence"]),
                   tuple(Fix.from_json(f) for f in data["fixes"]), tuple(data["epochs"]))


@dataclass(frozen=True)
class Diagnosis:
    labels: tuple[str, ...]  # a subset of LABELS; empty when nothing could be judged
    findings: tuple[Finding, ...]  # one per label except healthy, in the order of `labels`
    notes: tuple[Finding, ...] = ()  # secondary findings (train longer, lower the lr, ...)
    not_judged: dict[str, str] = field(default_factory=dict)  # rule -> why it could not be judged

    @property
    def pruned(self) -> Finding | None:
        """The note of a trial the pruner stopped: at which epoch, and how far behind the others."""
        return next((note for note in self.notes if note.label == PRUNED), None)

    @property
    def verdicts(self) -> tuple[str, ...]:
        """The labels; else "pruned" for a trial the pruner stopped; else "not judged"."""
        return self.labels or ((PRUNED,) if self.pruned is not None else (NOT_JUDGED,))

    @property
    def label_text(self) -> str:
        """The verdicts as one string: "overfit, imbalanced", "pruned" or "not judged"."""
        return ", ".join(self.verdicts)

    def because(self) -> str:
        """The first finding's summary; else the pruned note's, or why the run could not be judged
        ("" when healthy)."""
        if self.findings:
            return self.findings[0].summary
        if self.labels:
            return ""
        if self.pruned is not None:
            return self.pruned.summary
        return self.not_judged.get("overfit") or next(iter(self.not_judged.values()), "")

    def to_json(self) -> dict[str, Any]:
        return {"labels": list(self.labels),
                "findings": [f.to_json() for f in self.findings],
                "notes": [n.to_json() for n in self.notes],
                "not_judged": dict(self.not_judged)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Diagnosis:
        return cls(tuple(data["labels"]), tuple(Finding.from_json(f) for f in data["findings"]),
                   tuple(Finding.from_json(n) for n in data["notes"]), dict(data["not_judged"]))
