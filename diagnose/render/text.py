"""A diagnosis as a short text for the terminal: labels, each finding with its fixes in order, the
notes and what could not be judged."""

from __future__ import annotations

from diagnose.render.view import DiagnosisView

MAX_FIXES = 4  # fixes listed per label; the rest are named on one line


def render(view: DiagnosisView, title: str) -> str:
    """``view`` (made with ``max_fixes=MAX_FIXES``) under ``title``."""
    lines = [f"{title}: {view.labels}"]
    for finding in view.findings:
        lines.append(f"  {finding.heading}: {finding.summary}")
        for fix in finding.fixes:
            lines.append(f"    {fix.number}. {fix.name}: {fix.change}")
            lines.append(f"       {fix.reason}")
        if finding.more:
            lines.append(f"    then: {', '.join(finding.more)} (see --json or --report)")
    for note in view.notes:
        fix = f" -> {note.fix.name}: {note.fix.change}" if note.fix else ""
        lines.append(f"  note, {note.label}: {note.summary}{fix}")
    for rule, reason in view.not_judged:
        lines.append(f"  not judged, {rule}: {reason}")
    return "\n".join(lines)
