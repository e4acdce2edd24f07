"""A diagnosis as markdown, the body of a trial's note in optuna-dashboard: a section per finding
(summary, evidence table, numbered fixes), then the notes and what could not be judged as a list."""

from __future__ import annotations

from diagnose.render.view import DiagnosisView, FindingView, FixLine

MAX_FIXES = 5  # fixes listed per label in a trial note


def change_text(fix: FixLine) -> str:
    """The change: each study-file edit as code of its own (short spans, which the dashboard can
    wrap between), or the prose of advice and explored fixes."""
    return "; ".join(f"`{edit}`" for edit in fix.edits) if fix.edits else fix.change


def fix_line(fix: FixLine) -> str:
    return f"{fix.number}. **{fix.name}**: {change_text(fix)}. {fix.reason}"


def _finding(finding: FindingView) -> list[str]:
    lines = [f"### {finding.heading}", "", finding.summary, ""]
    if finding.evidence:
        lines += ["| evidence | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in finding.evidence]
        lines.append("")
    if finding.fixes:
        lines += ["Fixes, in the order to try them:", ""]
        lines += [fix_line(fix) for fix in finding.fixes]
        lines.append("")
    return lines


def render(view: DiagnosisView) -> list[str]:
    """The lines of ``view`` (made with ``max_fixes=MAX_FIXES``)."""
    lines = [line for finding in view.findings for line in _finding(finding)]
    for note in view.notes:
        fix = f" Try **{note.fix.name}**: {change_text(note.fix)}." if note.fix else ""
        lines.append(f"- note, {note.label}: {note.summary.rstrip('.')}.{fix}")
    lines += [f"- not judged, {rule}: {reason}" for rule, reason in view.not_judged]
    return lines
