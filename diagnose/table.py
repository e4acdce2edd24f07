"""``run_study.py table``: the ablation table of a study, one row per trial, as the HMDB51 seed shows.

Columns: trial, state, the architecture and every architecture knob any trial has, training loss, validation loss, validation accuracy and macro-F1 at the trial's
best epoch (the epoch its value and per-class results come from), trainable parameters (split into
CNN and attention when some trial's model reports an attention part, as ``r2plus1d_attention`` does;
a model without one counts wholly as CNN), and the diagnosis.
Printed as a markdown table, or written as CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Sequence

from diagnose.diagnosis import diagnose
from diagnose.loaders.storage import StoredRun
from diagnose.verdict import labels_text

METRICS = (("train loss", "train_loss"), ("val loss", "val_loss"), ("val acc", "val_accuracy"),
           ("val macro-F1", "val_macro_f1"))


def _best_row(run: StoredRun) -> dict[str, float | None]:
    rows = run.history.rows
    best = run.history.facts.get("best_epoch")
    chosen = [row for row in rows if row.get("epoch") == best]
    return chosen[0] if chosen else (rows[-1] if rows else {})


def _knob_columns(runs: Sequence[StoredRun]) -> list[str]:
    """``architecture`` and every ``<architecture>.<knob>`` any trial has, in first-seen order."""
    columns: list[str] = ["architecture"]
    for run in runs:
        hparams = run.history.facts.get("hparams", {})
        for key in hparams:
            if "." in key and key not in columns:
                columns.append(key)
    return columns


def ablation_rows(runs: Sequence[StoredRun]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) of the table."""
    knobs = _knob_columns(runs)
    counts = [run.history.facts.get("param_counts") or {} for run in runs]
    parts = any("attention" in c for c in counts)
    params = ["CNN params", "attention params"] if parts else ["params"]
    header = ["trial", "state", *knobs, *(name for name, _ in METRICS), *params, "diagnosis"]
    rows = []
    for run, count in zip(runs, counts):
        hparams = run.history.facts.get("hparams", {})
        best = _best_row(run)
        total = run.history.facts.get("param_count")
        sizes = [count.get("cnn", total), count.get("attention")] if parts else [total]
        rows.append([run.number, run.state, *(hparams.get(k) for k in knobs),
                     *(best.get(column) for _, column in METRICS), *sizes,
                     labels_text(diagnose(run.history))])
    return header, rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])
