"""The markdown notes optuna-dashboard shows: one per trial, one per study.

A trial's note says what it was diagnosed with, the numbers behind each label and the fixes in the
order to try them (``diagnose.render.markdown``); the study's note says how its trials went, what its
best trial suffers from, and the study file that would try the most promising fixes next, with the
command that runs it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

import yaml

from diagnose.fixes import apply_changes
from diagnose.overview import overview
from diagnose.render import markdown
from diagnose.render.view import counts_text, fix_lines, label_counts, shown_value, view
from search.record.diagnosis import Diagnosis, Fix
from search.record.measures import plural
from search.record.storage import StorageUrl
from search.record.trial import TrialRecord

MAX_FIXES = markdown.MAX_FIXES


def trial_note(record: TrialRecord) -> str:
    """The note of a diagnosed trial: its labels, how it ended, each finding's evidence and fixes."""
    diagnosis = record.diagnosis
    reason = record.stop_reason or ""
    end = [reason, "" if "epoch" in reason else f"{plural(record.epochs_run, 'epoch')} run"]
    if record.param_count is not None:
        end.append(f"{record.param_count:,} trainable parameters")
    lines = [f"## Trial {record.number}: {diagnosis.label_text}", "",
             " · ".join(part for part in end if part), ""]
    lines += markdown.render(view(diagnosis, max_fixes=MAX_FIXES))
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


# Code blocks in a note keep to this width: optuna-dashboard does not wrap them, it cuts them off.
CODE_WIDTH = 80


def command_block(args: Sequence[str]) -> list[str]:
    """A shell command as lines of at most ``CODE_WIDTH`` (continued with a backslash)."""
    lines, line = [], ""
    for arg in args:
        if line and len(line) + 1 + len(arg) > CODE_WIDTH - 2:
            lines.append(line + " \\")
            line = "  " + arg
        else:
            line = f"{line} {arg}" if line else arg
    return ["```sh", *lines, line, "```"]


def study_advice(name: str, records: Sequence[TrialRecord], best: TrialRecord | None, metric: str,
                 config: Mapping[str, Any] | None, storage: StorageUrl,
                 maximize: bool = True) -> list[str]:
    """The note's lines after the counts: the best trial, what the study as a whole shows
    (``diagnose.overview``) and the study file to run next, with the command that runs it."""
    if best is None:
        return ["No trial has completed yet."]
    lines = [f"**Best trial #{best.number}**: {metric} = {shown_value(best.value)}, diagnosed "
             f"**{best.diagnosis.label_text}**.", ""]
    shows = overview(records, maximize, metric)
    if shows:
        lines += ["## What the study shows", "", *(f"- {line}." for line in shows), ""]
    fixes = next_fixes(best.diagnosis)
    if not fixes:
        lines.append("The best trial shows no problem the fix table addresses: more trials, or a "
                     "larger budget, are the next step.")
        return lines
    lines += ["## What to try next", ""]
    lines += [markdown.fix_line(line) for line in fix_lines(fixes)]
    if config is not None:
        lines += ["", *next_study(name, fixes, config, storage)]
    return lines


def next_study_file(name: str, fixes: Sequence[Fix],
                    config: Mapping[str, Any]) -> dict[str, Any]:
    """The study file ``config`` with the changes of ``fixes``, renamed ``<name>-next``."""
    edited = apply_changes(config, [change for fix in fixes for change in fix.changes])
    study = edited.pop("study", None)
    return {"study": {**(study if isinstance(study, dict) else {}), "name": f"{name}-next"},
            **edited}


def run_command(storage: StorageUrl) -> list[str]:
    """The command that runs the next study file, saved as next.yaml, into ``storage``."""
    return ["python", "run_study.py", "run", "next.yaml", "--storage", storage.url]


def next_study(name: str, fixes: Sequence[Fix], config: Mapping[str, Any],
               storage: StorageUrl) -> list[str]:
    """The next study file (``next_study_file``) and the command that runs it, as markdown code
    blocks."""
    text = yaml.safe_dump(next_study_file(name, fixes, config), sort_keys=False,
                          width=CODE_WIDTH - 8).rstrip()
    return ["The study file with these changes (save it as `next.yaml`):", "", "```yaml", text,
            "```", "", "and run it:", "", *command_block(run_command(storage))]


def study_note(name: str, records: Sequence[TrialRecord], best: TrialRecord | None, metric: str,
               config: Mapping[str, Any] | None, storage: StorageUrl,
               maximize: bool = True, sections: Sequence[str] = ()) -> str:
    """The study's note: trials by state and diagnosis, ``sections`` (markdown lines a command kept
    with the study: a fix study's before/after), the best trial, what the study as a whole shows,
    the next study to run."""
    states = Counter(r.state for r in records)
    lines = [f"# Study {name}", "",
             f"{plural(len(records), 'trial')}: " + ", ".join(f"{n} {s.lower()}" for s, n in
                                                   states.most_common()) + ".", "",
             f"Diagnoses: {counts_text(label_counts(r.diagnosis for r in records), len(records))}.",
             ""]
    lines += [*sections, *([""] if sections else [])]
    lines += study_advice(name, records, best, metric, config, storage, maximize)
    return "\n".join(lines).rstrip() + "\n"
