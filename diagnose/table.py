"""``run_study.py table``: the ablation table of a study, one row per trial, as the HMDB51 seed shows.

Columns: trial, state, the architecture and every architecture knob any trial has, training loss,
validation loss, validation accuracy and macro-F1 at the trial's best epoch (the epoch its value and
per-class results come from), trainable parameters (split into CNN and attention when some trial's
model reports an attention part, as ``r2plus1d_attention`` does; a model without one counts wholly as
CNN), and the diagnosis stored with the trial.

A pandas DataFrame, written as markdown or CSV. It is built from the study's records rather than
Optuna's ``trials_dataframe()``: the metrics come from the best epoch's row of each history, and the
study has already been read once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas

from search.record.trial import TrialRecord

METRICS = (("train loss", "train_loss"), ("val loss", "val_loss"), ("val acc", "val_accuracy"),
           ("val macro-F1", "val_macro_f1"))


def _best_row(record: TrialRecord) -> dict[str, float | None]:
    rows = record.history.rows
    chosen = [row for row in rows if row.get("epoch") == record.best_epoch]
    return chosen[0] if chosen else (rows[-1] if rows else {})


def _knob_columns(records: Sequence[TrialRecord]) -> list[str]:
    """``architecture`` and every ``<architecture>.<knob>`` any trial has, in first-seen order."""
    columns: list[str] = ["architecture"]
    for record in records:
        columns += [key for key in record.hparams if "." in key and key not in columns]
    return columns


def ablation_frame(records: Sequence[TrialRecord]) -> pandas.DataFrame:
    """The table of diagnosed ``records``; a missing value is None."""
    knobs = _knob_columns(records)
    parts = any("attention" in (r.param_counts or {}) for r in records)
    params = ["CNN params", "attention params"] if parts else ["params"]
    rows = []
    for record in records:
        counts, best = record.param_counts or {}, _best_row(record)
        sizes = ([counts.get("cnn", record.param_count), counts.get("attention")] if parts
                 else [record.param_count])
        rows.append([record.number, record.state, *(record.hparams.get(k) for k in knobs),
                     *(best.get(column) for _, column in METRICS), *sizes,
                     record.diagnosis.label_text])
    header = ["trial", "state", *knobs, *(name for name, _ in METRICS), *params, "diagnosis"]
    return pandas.DataFrame(rows, columns=header, dtype=object)


COUNT_COLUMNS = ("params", "CNN params", "attention params")  # written with thousands separators


def _cell(value: Any, count: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if count and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown(frame: pandas.DataFrame) -> str:
    """A markdown (pipe) table: metrics to 4 decimals, parameter counts with thousands separators
    (every one of a column alike: 9,566 beside 15,414), other numbers as they are."""
    cells = frame.copy()
    for column in cells.columns:
        count = column in COUNT_COLUMNS
        cells[column] = cells[column].map(lambda value, count=count: _cell(value, count))
    return cells.to_markdown(index=False, disable_numparse=True)


def write_csv(frame: pandas.DataFrame, path: Path) -> None:
    """CSV at full precision, an empty cell for a missing value. A path that cannot be written (a
    folder, in a missing folder or under a file, a storage database) is a one-line ``LogError``,
    raised before anything is written."""
    from diagnose.report import write_output

    write_output(path, frame.to_csv(index=False), "--csv")
