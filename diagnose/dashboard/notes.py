"""The markdown notes optuna-dashboard shows: one per trial, one per study.

A trial's note says what it was diagnosed with, the numbers behind each label and the fixes in the
order to try them; the study's note says how its trials went, what its best trial suffers from, and
the study file that would try the most promising fixes next, with the command that runs it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

import yaml

from diagnose.dashboard.trials import DiagnosedTrial
from diagnose.findings import Diagnosis, Finding
from diagnose.fixes import Fix, apply_changes
from diagnose.verdict import labels_text
from search.history import History

MAX_FIXES = 5  # fixes listed per label in a trial note


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _finding(finding: Finding) -> list[str]:
    lines = [f"### {finding.label} (confidence {finding.confidence:.2f})", "", finding.summary, ""]
    if finding.evidence:
        lines += ["| evidence | value |", "|---|---|"]
        lines += [f"| {key} | {_number(value)} |" for key, value in finding.evidence.items()]
        lines.append("")
    if finding.fixes:
        lines.append("Fixes, in the order to try them:")
        lines.append("")
        for i, fix in enumerate(finding.fixes[:MAX_FIXES], 1):
            lines.append(f"{i}. **{fix.name}**: `{fix.text()}`. {fix.reason}")
        lines.append("")
    return lines


def trial_note(number: int, history: History, diagnosis: Diagnosis) -> str:
    """The note of trial ``number``: its labels, its end, each finding's evidence and fixes."""
    facts = history.facts
    lines = [f"## Trial {number}: {labels_text(diagnosis)}", ""]
    reason = facts.get("stop_reason") or ""
    end = [reason, "" if "epoch" in reason else f"{len(history.rows)} epochs run"]
    if facts.get("param_count") is not None:
        end.append(f"{facts['param_count']:,} trainable parameters")
    lines += [" · ".join(str(part) for part in end if part), ""]
    for finding in diagnosis.findings:
        lines += _finding(finding)
    for note in diagnosis.notes:
        fix = f" Try **{note.fixes[0].name}**: `{note.fixes[0].text()}`." if note.fixes else ""
        lines.append(f"- note, {note.label}: {note.summary.rstrip('.')}.{fix}")
    for rule, reason in diagnosis.not_judged.items():
        lines.append(f"- not judged, {rule}: {reason}")
    return "\n".join(lines).rstrip() + "\n"


def next_fixes(best: Diagnosis) -> list[Fix]:
    """The fixes to try next: the first of each of the best trial's labels that changes the search
    space (a healthy or unjudged best trial has none)."""
    chosen: list[Fix] = []
    for finding in best.findings:
        fix = next((f for f in finding.fixes if f.changes and f not in chosen), None)
        if fix is not None:
            chosen.append(fix)
    return chosen


def study_note(name: str, trials: Sequence[DiagnosedTrial], best: DiagnosedTrial | None, metric: str,
               config: Mapping[str, Any] | None, storage: str) -> str:
    """The study's note: trials by state and diagnosis, the best trial, the next study to run."""
    states = Counter(t.state for t in trials)
    labels = Counter(label for t in trials for label in (t.diagnosis.labels or ("not judged",)))
    lines = [f"# Study {name}", "",
             f"{len(trials)} trials: " + ", ".join(f"{n} {s.lower()}" for s, n in
                                                  states.most_common()) + ".", "",
             "Diagnoses: " + ", ".join(f"{label} {n}" for label, n in labels.most_common()) + ".",
             ""]
    if best is None:
        lines.append("No trial has completed yet.")
        return "\n".join(lines) + "\n"
    lines += [f"**Best trial #{best.number}**: {metric} = {_number(best.value)}, diagnosed "
              f"**{labels_text(best.diagnosis)}**.", ""]
    fixes = next_fixes(best.diagnosis)
    if not fixes:
        lines.append("The best trial shows no problem the fix table addresses: more trials, or a "
                     "larger budget, are the next step.")
        return "\n".join(lines) + "\n"
    lines += ["## What to try next", ""]
    lines += [f"{i}. **{fix.name}**: `{fix.text()}`. {fix.reason}" for i, fix in enumerate(fixes, 1)]
    if config is not None:
        changes = [change for fix in fixes for change in fix.changes]
        edited = apply_changes(config, changes)
        edited.setdefault("study", {})["name"] = f"{name}-next"
        lines += ["", "The study file with these changes (save it as `next.yaml`):", "",
                  "```yaml", yaml.safe_dump(edited, sort_keys=False).rstrip(), "```", "",
                  "and run it:", "", "```sh",
                  f"python run_study.py run next.yaml --storage {storage}", "```"]
    return "\n".join(lines) + "\n"
