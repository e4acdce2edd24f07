"""A diagnosis as a short text for the terminal: labels, the numbers behind each, the fixes in order."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from diagnose.findings import Diagnosis


def labels_text(diagnosis: Diagnosis) -> str:
    return ", ".join(diagnosis.labels) if diagnosis.labels else "not judged"


def run_verdict(title: str, diagnosis: Diagnosis, max_fixes: int = 4) -> str:
    lines = [f"{title}: {labels_text(diagnosis)}"]
    for finding in diagnosis.findings:
        lines.append(f"  {finding.label} (confidence {finding.confidence:.2f}): {finding.summary}")
        for i, fix in enumerate(finding.fixes[:max_fixes], 1):
            lines.append(f"    {i}. {fix.name}: {fix.text()}")
            lines.append(f"       {fix.reason}")
        if len(finding.fixes) > max_fixes:
            rest = ", ".join(fix.name for fix in finding.fixes[max_fixes:])
            lines.append(f"    then: {rest} (see --json or --report)")
    for note in diagnosis.notes:
        fix = f" -> {note.fixes[0].name}: {note.fixes[0].text()}" if note.fixes else ""
        lines.append(f"  note, {note.label}: {note.summary}{fix}")
    for rule, reason in diagnosis.not_judged.items():
        lines.append(f"  not judged, {rule}: {reason}")
    return "\n".join(lines)


def because(diagnosis: Diagnosis) -> str:
    """The first finding's summary, or why the run could not be judged ("" when healthy)."""
    if diagnosis.findings:
        return diagnosis.findings[0].summary
    if not diagnosis.labels:
        return diagnosis.not_judged.get("overfit") or next(iter(diagnosis.not_judged.values()), "")
    return ""


def trial_line(number: int, state: str, value: float | None, diagnosis: Diagnosis) -> str:
    """One line per trial, for a study's summary."""
    value_text = f"{value:.4g}" if value is not None else "-"
    return f"  #{number:<4} {state:<8} {value_text:>8}  {labels_text(diagnosis):<22} " \
           f"{because(diagnosis)}"


def label_counts(diagnoses: Iterable[Diagnosis]) -> str:
    counts = Counter(label for d in diagnoses for label in (d.labels or ("not judged",)))
    return ", ".join(f"{label} {n}" for label, n in counts.most_common())
